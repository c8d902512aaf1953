export { Backoff, type BackoffSettings } from './backoff.js';
