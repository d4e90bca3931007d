/**
 * Waits for SIGINT or SIGTERM, then runs `stop` and resolves when it is done. A second signal
 * while stopping exits at once (130), as operators expect from a long-lived daemon.
 */
export function runUntilSignal(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  hooks: {
    onStopping?: (signal: NodeJS.Signals) => void;
    onSecondSignal?: (signal: NodeJS.Signals) => void;
  } = {},
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        hooks.onSecondSignal?.(signal);
        process.exit(130);
      }
      stopping = true;
      hooks.onStopping?.(signal);
      stop(signal)
        .then(resolve, reject)
        .finally(() => {
          process.off('SIGTERM', onSignal);
          process.off('SIGINT', onSignal);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
