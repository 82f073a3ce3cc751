/**
 * Split GUNICORN_TS_CMD_ARGS into words as a POSIX shell would (quotes and backslashes), so
 * `GUNICORN_TS_CMD_ARGS="--bind 127.0.0.1:9000 --name 'my app'"` means what it says.
 */
import { gtsError } from '../errors.js';

export function shellSplit(input: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < input.length; i++) {
    const ch = input[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < input.length && '"\\$`'.includes(input[i + 1] as string)) word += input[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < input.length) {
      word += input[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw gtsError('GTS_ERR_USAGE', `GUNICORN_TS_CMD_ARGS has an unterminated ${quote} quote`);
  if (inWord) words.push(word);
  return words;
}
