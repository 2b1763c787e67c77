/** Whether a failed attempt of the steady load broke in flight or never connected (failure-kind.mjs says why). */
export function failureKind(connected: boolean, code: string | undefined): 'connect' | 'inFlight';
