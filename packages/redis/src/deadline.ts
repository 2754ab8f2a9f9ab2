/**
 * A wait bounded in time: what Redis does not answer within `ms` counts as failed (a connection
 * that went silent, a client holding commands while it reconnects). The timer never keeps the
 * process alive on its own: the command it bounds is held by the client's socket.
 */
export function withDeadline<T>(pending: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}
