import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SETTINGS, SETTINGS_BY_NAME, Settings, HOOK_SETTING_NAMES, isGtsError } from '@gunicorn-ts/core';

describe('settings registry', () => {
  test('declares every setting of the reference once, with the reference defaults', () => {
    const names = SETTINGS.map((s) => s.name);
    assert.equal(new Set(names).size, names.length, 'no setting is declared twice');
    const settings = Settings.withDefaults();
    const expected: Record<string, unknown> = {
      bind: ['127.0.0.1:8000'], backlog: 2048, worker_class: 'sync', threads: 1, worker_connections: 1000,
      max_requests: 0, max_requests_jitter: 0, timeout: 30, graceful_timeout: 30, keepalive: 2,
      limit_request_line: 4094, limit_request_fields: 100, limit_request_field_size: 8190,
      preload_app: false, daemon: false, umask: 0, loglevel: 'info', errorlog: '-', accesslog: null,
      access_log_format: '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
      forwarded_allow_ips: ['127.0.0.1'], proxy_allow_ips: ['127.0.0.1'], proxy_protocol: false,
      syslog_addr: 'udp://localhost:514', syslog_facility: 'user', statsd_host: null, sendfile: true,
      cert_reqs: 0, suppress_ragged_eofs: true, do_handshake_on_connect: false, pidfile: null,
    };
    for (const [name, value] of Object.entries(expected)) {
      assert.ok(Settings.isName(name), `${name} is declared`);
      assert.deepEqual(settings.get(name), value, `default of ${name}`);
    }
  });

  test('declares the fourteen server hooks as config-only, non-serializable settings', () => {
    assert.deepEqual(HOOK_SETTING_NAMES, [
      'on_starting', 'on_reload', 'when_ready', 'pre_fork', 'post_fork', 'post_worker_init', 'worker_int',
      'worker_abort', 'pre_exec', 'pre_request', 'post_request', 'worker_exit', 'nworkers_changed', 'on_exit',
    ]);
    for (const name of HOOK_SETTING_NAMES) {
      const spec = SETTINGS_BY_NAME.get(name);
      assert.equal(spec?.flags.length, 0);
      assert.equal(spec?.serializable, false);
    }
  });

  test('workers defaults to $WEB_CONCURRENCY when set', () => {
    const saved = process.env['WEB_CONCURRENCY'];
    process.env['WEB_CONCURRENCY'] = '5';
    try {
      assert.equal(Settings.withDefaults().get('workers'), 5);
    } finally {
      if (saved === undefined) delete process.env['WEB_CONCURRENCY'];
      else process.env['WEB_CONCURRENCY'] = saved;
    }
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['workers', 'abc', /workers \(-w, --workers\): "abc" is not an integer/],
    ['workers', 0, /out of range/],
    ['bind', ['host:99999'], /port "99999" is not a number from 0 to 65535/],
    ['bind', ['::1:8000'], /IPv6 addresses as \[ADDRESS\]:PORT/],
    ['limit_request_line', 9000, /between 0 and 8190/],
    ['limit_request_fields', 40000, /between 0 and 32768/],
    ['loglevel', 'loud', /not one of debug, info, warning, error, critical/],
    ['umask', 'abc', /not a umask/],
    ['forwarded_allow_ips', '1.2.3', /not an IP address/],
    ['raw_env', ['NOEQUALS'], /not KEY=VALUE/],
    ['on_starting', 'not a function', /not a function/],
    ['statsd_host', 'nohostport', /not HOST:PORT/],
    ['syslog_addr', 'ftp://x', /not unix:\/\/PATH/],
    ['daemon', 'yes', /"yes" is not a boolean \(true or false\)/],
    ['preload_app', 1, /1 is not a boolean/],
    ['user', '99999999999', /99999999999 is not a valid user id \(0 to 4294967294\)/],
    ['group', 4294967295, /4294967295 is not a valid group id/],
  ];
  for (const [name, raw, reason] of invalid) {
    test(`rejects ${name}=${JSON.stringify(raw)} with a reason`, () => {
      const settings = Settings.withDefaults();
      assert.throws(() => settings.set(name, raw, 'cli'), (err: unknown) => {
        assert.ok(isGtsError(err, 'GTS_ERR_INVALID_SETTING'), String(err));
        assert.match(err.message, reason);
        assert.equal(err.exitCode, 2);
        return true;
      });
    });
  }

  test('booleans are true or false, or those words in any case, as Gunicorn\'s validate_bool', () => {
    const settings = Settings.withDefaults();
    for (const [raw, value] of [[true, true], ['True', true], [' false ', false], [false, false]] as const) {
      settings.set('daemon', raw, 'cli');
      assert.equal(settings.get('daemon'), value, String(raw));
    }
  });

  test('accepts every bind form of the reference', () => {
    const settings = Settings.withDefaults();
    const forms = ['127.0.0.1', '127.0.0.1:8000', 'localhost:0', '[::1]:8000', 'unix:/tmp/x.sock', 'fd://3'];
    settings.set('bind', forms, 'cli');
    assert.deepEqual(settings.get('bind'), forms);
  });

  test("tcp://HOST:PORT is HOST:PORT, as Gunicorn's parse_address reads it", () => {
    const settings = Settings.withDefaults();
    settings.set('bind', ['tcp://127.0.0.1:8001', 'TCP://[::1]:8002'], 'cli');
    assert.deepEqual(settings.get('bind'), ['127.0.0.1:8001', '[::1]:8002']);
  });

  test('umask takes decimal, octal (0022 and 0o22) and hex', () => {
    const settings = Settings.withDefaults();
    for (const [raw, value] of [['0', 0], ['0022', 0o22], ['0o22', 0o22], ['0x12', 0x12], ['18', 18]] as const) {
      settings.set('umask', raw, 'cli');
      assert.equal(settings.get('umask'), value, raw);
    }
  });

  test('refuses Python-only settings with an explanation', () => {
    const settings = Settings.withDefaults();
    for (const [name, raw] of [['paste', 'production.ini'], ['django_settings', 'app.settings'], ['spew', true]] as const) {
      assert.throws(() => settings.set(name, raw, 'cli'), (err: unknown) => isGtsError(err, 'GTS_ERR_UNSUPPORTED_SETTING'));
    }
  });

  test('unknown names are refused, naming where they came from', () => {
    assert.throws(() => Settings.withDefaults().set('wrokers', 2, 'config', 'config file x.js'), /Unknown setting "wrokers" in config file x.js/);
  });

  test('serialize leaves hooks out and deserialize restores values and sources', () => {
    const settings = Settings.withDefaults();
    settings.set('workers', '3', 'cli');
    settings.set('on_starting', () => undefined, 'config');
    const data = settings.serialize();
    assert.equal('on_starting' in data, false);
    const copy = Settings.deserialize(JSON.parse(JSON.stringify(data)));
    assert.equal(copy.get('workers'), 3);
    assert.equal(copy.sourceOf('workers'), 'cli');
  });

  test('sync with threads > 1 means gthread', () => {
    const settings = Settings.withDefaults();
    settings.set('threads', 4, 'cli');
    assert.equal(settings.effectiveWorkerClass(), 'gthread');
    settings.set('worker_class', 'evented', 'cli');
    assert.equal(settings.effectiveWorkerClass(), 'evented');
  });
});

describe('docs/settings.md', () => {
  test('is the registry rendered (run `npm run docs:settings` after changing a setting)', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderSettingsDoc } = await import('@gunicorn-ts/core');
    const committed = readFileSync(new URL('../../../docs/settings.md', import.meta.url), 'utf8');
    assert.equal(committed, renderSettingsDoc());
  });
});

describe('hook guarding', () => {
  test('a throwing tap is logged with hook and tap names and the other taps still run', async () => {
    const { createArbiterHooks, guardSyncHooks } = await import('@gunicorn-ts/core');
    const hooks = createArbiterHooks();
    const logged: string[] = [];
    const log = { exception: (_err: unknown, msg: string, ...args: unknown[]) => logged.push([msg, ...args].join('|')) };
    guardSyncHooks(hooks, () => log as never);
    const ran: string[] = [];
    hooks.onStarting.tap('config', () => {
      throw new Error('boom');
    });
    hooks.onStarting.tap('Other', () => ran.push('other'));
    hooks.onStarting.call({} as never);
    assert.deepEqual(ran, ['other']);
    assert.deepEqual(logged, ['Hook %s (%s) failed|on_starting|config'], 'named as the setting is');
  });
});
