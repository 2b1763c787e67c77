// Reading the Kubernetes Status out of client-node's ApiException, whose body is the raw response text for
// untyped APIs (CustomObjectsApi) and a parsed object for typed ones.
import { ApiException } from '@kubernetes/client-node';

export interface StatusBody {
  code?: number;
  reason?: string;
  message?: string;
}

export function isApiException(err: unknown): err is ApiException<unknown> {
  return err instanceof ApiException;
}

/** The HTTP code of an ApiException, or undefined for any other error. */
export function apiErrorCode(err: unknown): number | undefined {
  return isApiException(err) ? err.code : undefined;
}

/** The Status an API call failed with; throws `err` itself when it is not an API error. */
export function apiStatus(err: unknown): StatusBody & { code: number } {
  if (!isApiException(err)) throw err;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = { message: body };
    }
  }
  return { ...(typeof body === 'object' && body !== null ? (body as StatusBody) : {}), code: err.code };
}
