/** `null`, `array` or the `typeof` name: how config messages describe what was found, never the value. */
export const typeName = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
};
