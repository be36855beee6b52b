/** --format templates: Go's text/template actions and docker's functions, or a clear refusal (issue 28). */
import { describe, expect, it } from 'vitest';
import { compileTemplate, template } from '../../src/cli/template.js';

const rows = [
  { Name: 'shop-web-1', Service: 'web', State: 'running', ExitCode: 0, Labels: { tier: 'front', 'com.docker.compose.service': 'web' }, Publishers: [{ URL: '0.0.0.0', TargetPort: 80, PublishedPort: 8080, Protocol: 'tcp' }], Health: 'healthy' },
  { Name: 'shop-job-1', Service: 'job', State: 'exited', ExitCode: 3, Labels: { 'com.docker.compose.service': 'job' }, Publishers: [], Health: '' },
];

const refused = (f: string) => {
  try {
    template(f, rows);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`not refused: ${f}`);
};

describe('--format templates', () => {
  it('fields, text, tabs written as \\t, json', () => {
    expect(template('{{.Name}}\\t{{.State}}', rows)).toBe('shop-web-1\trunning\nshop-job-1\texited\n');
    expect(template('{{json .Labels}}', rows.slice(1))).toBe('{"com.docker.compose.service":"job"}\n');
    expect(template('{{ .Service }}: {{.ExitCode}}', rows)).toBe('web: 0\njob: 3\n');
    expect(template('{{json .}}', [{ A: 1 }])).toBe('{"A":1}\n');
  });

  it('if / else if / else, with comparisons and and/or/not', () => {
    const f = '{{.Name}} {{if eq .State "running"}}up{{else if gt .ExitCode 0}}failed ({{.ExitCode}}){{else}}done{{end}}';
    expect(template(f, rows)).toBe('shop-web-1 up\nshop-job-1 failed (3)\n');
    expect(template('{{if and .Health (not .ExitCode)}}ok{{else}}-{{end}}', rows)).toBe('ok\n-\n');
    expect(template('{{if or .Health .ExitCode}}y{{end}}', rows)).toBe('y\ny\n');
    expect(template('{{if ne .Service "web"}}{{.Service}}{{end}}', rows)).toBe('\njob\n');
  });

  it('range over lists and maps (sorted keys), with variables and else', () => {
    expect(template('{{range .Publishers}}{{.PublishedPort}}->{{.TargetPort}}/{{.Protocol}} {{else}}none{{end}}', rows)).toBe('8080->80/tcp \nnone\n');
    expect(template('{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', rows.slice(0, 1))).toBe('com.docker.compose.service=web;tier=front;\n');
    expect(template('{{range $i, $p := .Publishers}}{{$i}}:{{$p.URL}}{{end}}', rows.slice(0, 1))).toBe('0:0.0.0.0\n');
    // $ is the record inside a range
    expect(template('{{range .Publishers}}{{$.Name}}{{end}}', rows.slice(0, 1))).toBe('shop-web-1\n');
  });

  it('with, variables, pipes, parentheses, index, printf, len, docker functions', () => {
    expect(template('{{with .Health}}health={{.}}{{else}}no health check{{end}}', rows)).toBe('health=healthy\nno health check\n');
    expect(template('{{$n := .Name}}{{$n | upper}}', rows.slice(0, 1))).toBe('SHOP-WEB-1\n');
    expect(template('{{.Name | printf "%-12s|"}}', rows.slice(0, 1))).toBe('shop-web-1  |\n');
    expect(template('{{index .Labels "com.docker.compose.service"}}', rows)).toBe('web\njob\n');
    expect(template('{{(index .Publishers 0).PublishedPort}}', rows.slice(0, 1))).toBe('8080\n');
    expect(template('{{len .Labels}} {{len .Publishers}}', rows)).toBe('2 1\n1 0\n');
    expect(template('{{join (split .Name "-") "/"}} {{title .State}} {{truncate .Name 4}} [{{pad .Service 1 2}}]', rows.slice(0, 1))).toBe('shop/web/1 Running shop [ web  ]\n');
    expect(template('{{printf "%s exited %d (%q) %5.1f" .Name .ExitCode .State 2.5}}', rows.slice(1))).toBe('shop-job-1 exited 3 ("exited")   2.5\n');
    expect(template('{{lower "ABC" | len}}', [{}])).toBe('3\n');
  });

  it('{{- -}} trims the whitespace beside an action; comments print nothing', () => {
    expect(template('{{.Service}}  {{- /* a comment */ -}}  :{{- " x" }}', rows.slice(0, 1))).toBe('web: x\n');
    expect(template('a {{/* nothing */}}b', [{}])).toBe('a b\n');
  });

  it('table: a header from the field names, columns aligned as docker aligns them', () => {
    expect(template('table {{.Name}}\\t{{.ExitCode}}\\t{{.State}}', rows)).toBe(
      ['NAME         EXIT CODE   STATE', 'shop-web-1   0           running', 'shop-job-1   3           exited', ''].join('\n'),
    );
    expect(compileTemplate('table {{.Name}}').table).toBe(true);
    expect(template('table {{.Name}}', [])).toBe('NAME\n');
  });

  it('refuses what it cannot run, saying what, instead of printing it literally', () => {
    expect(refused('{{if .Name}}x')).toMatch(/\{\{if\}\} has no \{\{end\}\}/);
    expect(refused('{{end}}')).toMatch(/without an if, range or with/);
    expect(refused('{{.Name | frobnicate}}')).toMatch(/function "frobnicate" not defined/);
    expect(refused('{{define "x"}}a{{end}}')).toMatch(/\{\{define\}\} is not supported/);
    expect(refused('{{template "x"}}')).toMatch(/\{\{template\}\} is not supported/);
    expect(refused('{{range .Publishers}}{{break}}{{end}}')).toMatch(/\{\{break\}\} is not supported/);
    expect(refused('{{.Name')).toMatch(/unclosed action/);
    expect(refused('{{.Nmae}}')).toMatch(/can't evaluate field Nmae: the fields are Name, Service/);
    expect(refused('{{.Name .State}}')).toMatch(/can't give an argument to a non-function/);
    expect(refused('{{.Name | .State}}')).toMatch(/a pipe passes its value to a function/);
    expect(refused('{{$x}}')).toMatch(/undefined variable \$x/);
    expect(refused('{{else}}')).toMatch(/without an if/);
    for (const f of ['{{if .Name}}x', '{{.Name | frobnicate}}']) expect(() => compileTemplate(f)).toThrow(/invalid --format template/);
  });
});
