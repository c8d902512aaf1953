/**
 * A real Apache Kafka broker for tests and benchmarks: one KRaft node (broker + controller) from the jars
 * setup-kafka.sh resolved from Maven Central, on free 127.0.0.1 ports, with its log dirs in a temp dir.
 * `restart()` stops the JVM and starts it again on the same ports and data (the broker-restart test).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Keep in step with KAFKA_VERSION in setup-kafka.sh. */
export const KAFKA_VERSION = '4.4.0';
const START_TIMEOUT_MS = 90_000;

export function kafkaLibDir(): string {
  const cache = process.env.MB_CACHE_DIR ?? join(homedir(), '.cache/meterbridge');
  return join(cache, 'kafka', KAFKA_VERSION, 'lib');
}

/** Why the Kafka tests cannot run here, or '' when they can. */
export function kafkaUnavailable(): string {
  if (process.env.MB_KAFKA === '0') return 'MB_KAFKA=0';
  if (!existsSync(join(kafkaLibDir(), '.complete'))) {
    return `no Kafka broker jars at ${kafkaLibDir()}: run test/harness/setup-kafka.sh (needs Java 17 and Maven)`;
  }
  return '';
}

export class KafkaBroker {
  readonly dir: string;
  private proc: ChildProcess | undefined;
  private brokerPort = 0;
  private controllerPort = 0;
  private output = '';

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Formats a fresh KRaft log dir and starts the broker; resolves once it accepts connections. */
  static async start(): Promise<KafkaBroker> {
    const broker = new KafkaBroker(mkdtempSync(join(tmpdir(), 'meterbridge-kafka-')));
    broker.brokerPort = await freePort();
    broker.controllerPort = await freePort();
    broker.writeConfig();
    const cp = `${kafkaLibDir()}/*`;
    const clusterId = execFileSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], {
      encoding: 'utf8',
    }).trim();
    execFileSync(
      'java',
      ['-cp', cp, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', broker.configPath],
      { stdio: 'pipe' },
    );
    await broker.launch();
    return broker;
  }

  /** `127.0.0.1:PORT`. */
  get bootstrap(): string {
    return `127.0.0.1:${this.brokerPort}`;
  }

  private get configPath(): string {
    return join(this.dir, 'server.properties');
  }

  private writeConfig(): void {
    const props = [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${this.controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${this.brokerPort},CONTROLLER://127.0.0.1:${this.controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${this.brokerPort}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      `log.dirs=${join(this.dir, 'data')}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=true',
    ];
    writeFileSync(this.configPath, `${props.join('\n')}\n`);
    writeFileSync(
      join(this.dir, 'log4j2.properties'),
      [
        'status = error',
        'appender.console.type = Console',
        'appender.console.name = STDERR',
        'appender.console.target = SYSTEM_ERR',
        'appender.console.layout.type = PatternLayout',
        'appender.console.layout.pattern = [kafka] %p %c{1} %m%n',
        'rootLogger.level = warn',
        'rootLogger.appenderRef.stderr.ref = STDERR',
        '',
      ].join('\n'),
    );
  }

  private async launch(): Promise<void> {
    this.output = '';
    const proc = spawn(
      'java',
      [
        '-Xmx512m',
        '-XX:+UseSerialGC',
        `-Dlog4j2.configurationFile=${join(this.dir, 'log4j2.properties')}`,
        '-cp',
        `${kafkaLibDir()}/*`,
        'kafka.Kafka',
        this.configPath,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc = proc;
    const keep = (d: Buffer) => {
      this.output = (this.output + String(d)).slice(-6000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`kafka exited with ${proc.exitCode}: ${this.output}`);
      if (await canConnect(this.brokerPort)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`kafka did not listen on ${this.bootstrap} within ${START_TIMEOUT_MS} ms: ${this.output}`);
  }

  /** Stops the JVM (SIGTERM, then SIGKILL after 15 s). */
  async stopProcess(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the broker and starts it again on the same ports and log dirs. */
  async restart(): Promise<void> {
    await this.stopProcess();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    if (process.env.MB_KAFKA_KEEP !== '1') rmSync(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
