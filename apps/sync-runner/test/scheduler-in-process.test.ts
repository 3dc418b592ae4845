import { createInProcessScheduler } from '../src/engine/scheduler/in-process.ts';
import { describeScheduler } from './helpers/scheduler-suite.ts';

describeScheduler('the in-process scheduler', () => createInProcessScheduler());
