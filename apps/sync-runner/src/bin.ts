#!/usr/bin/env node
import { main } from './cli.ts';

// The `ferry` bin. cli.ts runs main itself when started directly on Node ≥ 24 (import.meta.main);
// this entry runs it on any Node ≥ 22.12, where import.meta.main does not exist yet.
await main();
