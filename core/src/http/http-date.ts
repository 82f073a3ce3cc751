/**
 * The Date header value (IMF-fixdate, RFC 9110 §5.6.7), formatted at most once per second:
 * it is on every response, so it must cost next to nothing.
 */

let cachedSecond = -1;
let cachedValue = '';

export function httpDate(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // toUTCString() is exactly IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}
