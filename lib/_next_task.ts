/**
 * Lets the event loop run once (a macrotask): pending I/O such as the agent's health server, and
 * pending rejections. Through a `MessageChannel`: the global `setTimeout` loads node:timers (with
 * node:util's inspect) on first use, about 10 ms of CPU.
 *
 * @module
 */

/** Resolves after one turn of the event loop. */
export function nextTask(): Promise<void> {
  return new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
