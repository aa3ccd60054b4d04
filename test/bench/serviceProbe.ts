// Preloaded into the service child by the consent-flow bench (`node --import tsx --import
// ./test/bench/serviceProbe.ts bot/main.ts`); never part of the service itself. Over the IPC channel
// the bench opens, it answers:
//   { probe: 'eld-reset' }                   -> starts a fresh event-loop delay histogram
//   { probe: 'eld-read' }                    -> { probe: 'eld', p50Ms, p99Ms, maxMs, samples }
//   { probe: 'profile-start' }               -> starts the V8 CPU profiler (the same profile --cpu-prof
//                                               writes, but for the measured load only, not start-up)
//   { probe: 'profile-stop', file }          -> writes the .cpuprofile there, answers { probe: 'profile-written' }
//   { probe: 'heap-start' } / { probe: 'heap-stop', file } -> the same for V8's sampling heap profiler
//                                               (where the load allocates; .heapprofile, as DevTools reads)
//   { probe: 'modules-mark' } / { probe: 'modules-new' } -> the CommonJS modules loaded in between
//                                               (what a first request loads lazily)
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

interface ProbeMessage {
  probe?: string;
  file?: string;
}

/** 10 ms resolution would hide the delays we look for; 1 ms is the finest the sampler honours well. */
const RESOLUTION_MS = 1;

const moduleCache = createRequire(__filename).cache;
let marked = new Set<string>();
let histogram: IntervalHistogram | undefined;
let session: Session | undefined;

const reply = (message: Record<string, unknown>): void => {
  process.send?.(message);
};

/** One inspector session for the CPU and the heap profiler alike (both may run at once). */
const post = (method: string, params?: object): Promise<unknown> =>
  new Promise((resolve, reject) => {
    if (!session) {
      session = new Session();
      session.connect();
    }
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result)));
  });

/** Stops a profiler with `method` and writes the profile it answers to `file`. */
function writeProfile(method: string, file: string, answer: string): void {
  void post(method).then((result) => {
    writeFileSync(file, JSON.stringify((result as { profile: unknown }).profile));
    reply({ probe: answer });
  });
}

if (process.send) {
  process.on('message', (raw: unknown) => {
    const message = raw as ProbeMessage;
    switch (message.probe) {
      case 'eld-reset':
        histogram?.disable();
        histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
        histogram.enable();
        reply({ probe: 'eld-reset' });
        break;
      case 'eld-read': {
        const h = histogram;
        reply({
          probe: 'eld',
          p50Ms: h ? h.percentile(50) / 1e6 : NaN,
          p99Ms: h ? h.percentile(99) / 1e6 : NaN,
          maxMs: h ? h.max / 1e6 : NaN,
          samples: h ? h.count : 0,
        });
        break;
      }
      case 'heap-start':
        void post('HeapProfiler.enable')
          .then(() =>
            // Every 4 KB allocated, collected objects included: GC pressure is what is looked for.
            post('HeapProfiler.startSampling', {
              samplingInterval: 4096,
              includeObjectsCollectedByMajorGC: true,
              includeObjectsCollectedByMinorGC: true,
            }),
          )
          .then(() => reply({ probe: 'heap-started' }));
        break;
      case 'heap-stop':
        writeProfile('HeapProfiler.stopSampling', message.file ?? 'service.heapprofile', 'heap-written');
        break;
      case 'profile-start':
        void post('Profiler.enable')
          .then(() => post('Profiler.setSamplingInterval', { interval: 200 }))
          .then(() => post('Profiler.start'))
          .then(() => reply({ probe: 'profile-started' }));
        break;
      case 'profile-stop':
        writeProfile('Profiler.stop', message.file ?? 'service.cpuprofile', 'profile-written');
        break;
      case 'modules-mark':
        marked = new Set(Object.keys(moduleCache));
        reply({ probe: 'modules-marked', count: marked.size });
        break;
      case 'modules-new':
        reply({ probe: 'modules', loaded: Object.keys(moduleCache).filter((file) => !marked.has(file)) });
        break;
      default:
        break;
    }
  });
  // The IPC channel must not keep the service alive after SIGTERM's clean stop.
  process.channel?.unref();
}
