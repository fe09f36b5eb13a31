/**
 * JUnit XML for `locus assert --junit` in the shape CI systems read (GitHub test reporters, GitLab,
 * Jenkins: the de-facto "JUnit XML" of Ant's junitreport / Maven Surefire): one <testsuite> with
 * tests / failures / errors counts, one <testcase> per facts line, a <failure message="…"> on each
 * failing one.
 */
import type { FactOutcome } from './check';

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot carry. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;');
}

export interface JUnitSuite {
  /** The suite's name, e.g. the facts file. */
  readonly name: string;
  readonly outcomes: readonly FactOutcome[];
  readonly seconds: number;
  /** Extra <properties> (model, hash, protocol …). */
  readonly properties?: Readonly<Record<string, string>>;
}

export function junitXml(suite: JUnitSuite): string {
  const failures = suite.outcomes.filter((o) => !o.passed).length;
  const tests = suite.outcomes.length;
  const attr = (k: string, v: string | number): string => `${k}="${xmlEscape(String(v))}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites ${attr('name', 'locus assert')} ${attr('tests', tests)} ${attr('failures', failures)} ${attr('errors', 0)} ${attr('time', suite.seconds.toFixed(3))}>`,
    `  <testsuite ${attr('name', suite.name)} ${attr('tests', tests)} ${attr('failures', failures)} ${attr('errors', 0)} ${attr('skipped', 0)} ${attr('time', suite.seconds.toFixed(3))}>`,
  ];
  const props = Object.entries(suite.properties ?? {});
  if (props.length > 0) {
    lines.push('    <properties>');
    for (const [k, v] of props) lines.push(`      <property ${attr('name', k)} ${attr('value', v)}/>`);
    lines.push('    </properties>');
  }
  for (const o of suite.outcomes) {
    const c = o.check;
    const name = `line ${c.line}: ${c.prompt} → ${JSON.stringify(c.expect)}`;
    const open = `    <testcase ${attr('name', name)} ${attr('classname', suite.name)}`;
    if (o.passed) {
      lines.push(`${open}/>`);
      continue;
    }
    lines.push(`${open}>`);
    lines.push(`      <failure ${attr('message', o.message)} ${attr('type', 'AssertionError')}>${xmlEscape(o.reasons.join('\n'))}</failure>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
