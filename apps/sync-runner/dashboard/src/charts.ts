import uPlot from 'uplot';
import { h } from './dom.ts';

/*
 * Charts with uPlot (canvas; small, fast): a title and an aria-label, and the figures are always in
 * a table nearby too, since a canvas says nothing to a screen reader.
 */

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  /** Draw as bars rather than a line. */
  readonly bars?: boolean;
  /** Bars of several series side by side: -1 left of the tick, 1 right of it. */
  readonly align?: -1 | 1;
}

const widthOf = (element: HTMLElement): number => Math.max(280, Math.min(element.clientWidth || 600, 1100));

export const chart = (
  title: string,
  xs: readonly number[],
  series: readonly Series[],
  options: { readonly yLabel?: string; readonly height?: number } = {},
): {
  readonly element: HTMLElement;
  readonly update: (xs: readonly number[], series: readonly Series[]) => void;
} => {
  const element = h('figure', { class: 'chart', 'aria-label': title }, h('figcaption', {}, title));
  const holder = h('div', { class: 'chart-canvas' });
  element.append(holder);
  let plot: uPlot | undefined;
  const make = (data: uPlot.AlignedData, list: readonly Series[]) => {
    plot?.destroy();
    plot = new uPlot(
      {
        width: widthOf(holder),
        height: options.height ?? 220,
        scales: { x: { time: true } },
        axes: [{ stroke: '#333' }, { stroke: '#333', label: options.yLabel ?? '', size: 60 }],
        series: [
          {},
          ...list.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            fill: s.bars === true ? `${s.color}55` : undefined,
            ...(s.bars === true
              ? {
                  paths: uPlot.paths.bars!({
                    size: [s.align === undefined ? 0.6 : 0.35, 40],
                    ...(s.align === undefined ? {} : { align: s.align }),
                  }),
                  points: { show: false },
                }
              : {}),
          })),
        ],
      },
      data,
      holder,
    );
  };
  const dataOf = (x: readonly number[], list: readonly Series[]): uPlot.AlignedData => [
    [...x],
    ...list.map((s) => [...s.values]),
  ];
  // uPlot needs the element in the page to measure it; draw once it is.
  requestAnimationFrame(() => make(dataOf(xs, series), series));
  return {
    element,
    update: (x, list) => {
      if (plot === undefined || plot.series.length !== list.length + 1) make(dataOf(x, list), list);
      else plot.setData(dataOf(x, list));
    },
  };
};
