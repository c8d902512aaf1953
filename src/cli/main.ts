import { Command, CommanderError } from 'commander';
import { MeterbridgeError } from '../component/errors.js';
import { storageFailure } from '../extensions/storage/integrity-check.js';
import { VERSION } from '../version.js';
import { componentsCommand } from './components-command.js';
import { demoCommand } from './demo-command.js';
import { drainCommand } from './drain-command.js';
import { EXIT, exitCodeOf, isSqliteError } from './exit-codes.js';
import { withLogOptions } from './log-options.js';
import { type Output, processOutput } from './output.js';
import { outboxCommand } from './outbox-command.js';
import { estimateCommand } from './estimate-command.js';
import { reportCommand } from './report-command.js';
import { runCommand } from './run-command.js';
import { validateCommand } from './validate-command.js';

/** Builds the `meterbridge` command tree. Only src/cli/ exits the process (through main's exit code). */
export function buildProgram(output: Output, setExit: (code: number) => void): Command {
  const program = new Command('meterbridge')
    .description('OpenTelemetry-native usage metering for GPU clouds on Kubernetes')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s), writeErr: (s) => output.err(s) });
  const act =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      setExit(await fn(...args));
    };

  withLogOptions(
    program
      .command('run')
      .description('run the pipelines of a config file until SIGTERM/SIGINT')
      .requiredOption('-c, --config <file>', 'config file (YAML)'),
  ).action(
    act((opts: { config: string; logLevel?: string; logFormat?: string }) => runCommand(opts.config, output, opts)),
  );

  program
    .command('validate')
    .description('check a config file; prints every error with its path')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .action(act((opts: { config: string }) => validateCommand(opts.config, output)));

  program
    .command('components')
    .description('list every component type of this build with its kind, signal and stability')
    .option('--json', 'JSON output')
    .action(act((opts: { json?: boolean }) => componentsCommand(opts, output)));

  const demo = program
    .command('demo')
    .description('bill a simulated month of the built-in ai-cloud scenario and compare with ground truth')
    .option('--scenario <name|file>', 'built-in scenario name or scenario file', 'ai-cloud')
    .option('--days <n>', 'simulated days', '30')
    .option('--seed <n>', 'random seed (default: the scenario seed)')
    .option('--window <duration>', 'usage window', '1h')
    .option('--store <file>', 'SQLite store to (re)create', 'meterbridge-demo.db')
    .option('--json', 'print one JSON document instead of the table')
    .option('--dashboard <host:port>', 'serve the web dashboard at this address while the demo runs')
    .option('--serve', 'keep serving the dashboard after the demo until SIGINT/SIGTERM (default 127.0.0.1:8080)')
    .option('--price-book <file>', 'price book: estimated cost on the dashboard and budget alerts')
    .option('--progress <mode>', 'auto (a bar on a TTY) | bar | lines | off', 'auto');
  withLogOptions(demo).action(act((opts) => demoCommand(opts, output)));

  program
    .command('report')
    .description('usage per tenant, meter and attributes from the store')
    .option('-c, --config <file>', 'config file (its storage extension gives the store path)')
    .option('--store <file>', 'SQLite store', 'meterbridge-demo.db')
    .option('--from <time>', 'RFC 3339 start (inclusive, by window start)')
    .option('--to <time>', 'RFC 3339 end (exclusive)')
    .option('--format <format>', 'table | csv | json', 'table')
    .option('--price-book <file>', 'price book (YAML): adds rate and amount columns')
    .option('--by <what>', 'series (window usage) | job (one row per finished job: amount and credit)', 'series')
    .action(act((opts) => reportCommand(opts, output)));

  program
    .command('estimate')
    .description('what a Job/Pod manifest would cost per hour and for a duration, by GPU SKU')
    .requiredOption('-f, --file <manifest>', 'Pod, Job, CronJob, JobSet or training-job manifest (YAML)')
    .requiredOption('--price-book <file>', 'price book (YAML)')
    .option('--duration <duration>', 'how long it runs (e.g. 3h, 90m)', '1h')
    .option('--json', 'JSON output')
    .action(act((opts) => estimateCommand(opts, output)));

  const outbox = program.command('outbox').description('delivery status, dead letters, replay and drain');
  outbox
    .command('status')
    .description('lag, cursor, dead letters and last error per exporter')
    .option('-c, --config <file>', 'config file')
    .option('--store <file>', 'SQLite store', 'meterbridge-demo.db')
    .option('--json', 'JSON output')
    .action(act((opts) => outboxCommand('status', opts, output)));
  outbox
    .command('dead-letters')
    .description('list parked records with the backend’s reason')
    .option('-c, --config <file>', 'config file')
    .option('--store <file>', 'SQLite store', 'meterbridge-demo.db')
    .option('--exporter <id>', 'only this exporter')
    .option('--json', 'JSON output')
    .action(act((opts) => outboxCommand('dead-letters', opts, output)));
  outbox
    .command('replay')
    .description('re-queue parked records (after fixing the cause), or rewind an exporter to a time')
    .option('-c, --config <file>', 'config file')
    .option('--store <file>', 'SQLite store', 'meterbridge-demo.db')
    .requiredOption('--exporter <id>', 'exporter id, e.g. lago/prod')
    .option('--id <recordId...>', 'only these record ids')
    .option('--from <time>', 'rewind: deliver again every record from this window start on')
    .option('--progress <mode>', 'auto (a bar on a TTY, lines otherwise) | bar | lines | off', 'auto')
    .action(act((opts) => outboxCommand('replay', opts, output)));
  const drain = outbox
    .command('drain')
    .description('deliver the outbox backlog with the usage exporters of a config (nothing else is started)')
    .requiredOption('-c, --config <file>', 'config file (its storage extension and usage exporters)')
    .option('--exporter <id>', 'only this exporter, e.g. lago/prod')
    .option('--timeout <duration>', 'give up (exit 1) after this long', '5m')
    .option('--progress <mode>', 'auto (a bar on a TTY, lines otherwise) | bar | lines | off', 'auto');
  withLogOptions(drain).action(act((opts) => drainCommand(opts, output)));
  return program;
}

/** Runs the CLI; returns the process exit code (one table for every command: exit-codes.ts). */
export async function main(argv: readonly string[], output: Output = processOutput): Promise<number> {
  let code: number = EXIT.OK;
  const program = buildProgram(output, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    // Commander has printed its message (unknown option, missing argument); help and version exit 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    output.err(`meterbridge ${commandWords(argv)}: ${describeFailure(err)}`);
    return exitCodeOf(err);
  }
}

/**
 * How a command that failed says why, the same for every command: the message and the code, never a stack
 * trace (`MB_DEBUG=1` adds it for an unexpected error, which is a bug to report).
 */
function describeFailure(err: unknown): string {
  if (err instanceof MeterbridgeError) return `${err.message} [${err.code}]`;
  if (isSqliteError(err)) return `${storageFailure('', err).message} [MB_STORAGE]`;
  const message = err instanceof Error ? err.message : String(err);
  const stack = process.env.MB_DEBUG && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  return `unexpected error: ${message} (a bug: please report it; MB_DEBUG=1 prints the stack)${stack}`;
}

/** `outbox status` from `outbox status --store x.db`. */
function commandWords(argv: readonly string[]): string {
  const end = argv.findIndex((a) => a.startsWith('-'));
  const words = (end < 0 ? argv : argv.slice(0, end)).slice(0, 2);
  return words.length === 0 ? '' : words[0] === 'outbox' ? words.join(' ') : (words[0] ?? '');
}
