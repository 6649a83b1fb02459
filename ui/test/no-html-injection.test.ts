// The XSS rule: untrusted text is only ever rendered as text. No source file may use an HTML sink.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
// Built from pieces so this file does not match itself.
const SINKS = [
  'dangerously' + 'SetInnerHTML',
  '.inner' + 'HTML',
  '.outer' + 'HTML',
  'insertAdjacent' + 'HTML',
  'document.' + 'write',
  'createContextual' + 'Fragment',
  'src' + 'doc',
  'eval' + '(',
  'new Func' + 'tion(',
];

function sourceFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' || name.startsWith('.') ? [] : sourceFiles(path);
    return /\.(tsx?|jsx?|mjs|html)$/.test(name) ? [path] : [];
  });
}

describe('no HTML sinks in the UI source', () => {
  const files = ['src', 'test-support', 'browser', 'test'].flatMap((folder) => sourceFiles(join(ROOT, folder)))
    .concat([join(ROOT, 'index.html')]);

  it('scans the real source tree', () => {
    expect(files.some((file) => file.endsWith('MeetingList.tsx')), 'the scan must include the components').toBe(true);
  });

  it.each(SINKS)('nobody uses %s', (sink) => {
    const offenders = files.filter((file) => readFileSync(file, 'utf8').includes(sink)).map((file) => relative(ROOT, file));
    expect(offenders, `untrusted names and answers must never be parsed as HTML (${sink})`).toEqual([]);
  });
});
