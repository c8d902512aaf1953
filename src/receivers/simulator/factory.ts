import type { ReceiverFactory } from '../../component/component.js';
import { type SimulatorConfig, simulatorConfigSchema } from './config.js';
import { loadScenario } from './load-scenario.js';
import { SimulatorReceiver } from './simulator-receiver.js';
import { buildTimeline, type TimelineOptions } from './timeline.js';

/** The timeline overrides a simulator config asks for. */
export function timelineOptions(config: SimulatorConfig): TimelineOptions {
  return {
    ...(config.seed !== undefined ? { seed: config.seed } : {}),
    ...(config.start !== undefined ? { start: config.start } : {}),
    ...(config.duration !== undefined ? { duration: config.duration } : {}),
  };
}

/** `receivers::simulator`: plays a scenario on a virtual clock (demo, accuracy oracle, load generator). */
export const simulatorFactory: ReceiverFactory<SimulatorConfig> = {
  type: 'simulator',
  kind: 'receiver',
  stability: 'development',
  configSchema: simulatorConfigSchema,
  description: 'Plays a GPU-cloud scenario (tenants, node pools, jobs, PVCs, load balancers) on a virtual clock',
  /** Loads the scenario now, so a bad scenario fails at startup with a ScenarioError. */
  createReceiver(settings, config, next) {
    const timeline = buildTimeline(loadScenario(config.scenario), timelineOptions(config));
    return new SimulatorReceiver(settings, config, next, timeline);
  },
};
