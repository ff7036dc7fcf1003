/**
 * The plain-text answers the HTTP server and router give themselves.
 *
 * @module
 */

/** A `text/plain` response with `status`, `body` and extra `headers`. */
export function textResponse(
  status: number,
  body: string,
  headers?: Record<string, string>,
): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
