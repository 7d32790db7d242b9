// SPDX-License-Identifier: BSL-1.0
// authentik's own generated TypeScript clients against a running systask demo: 2025.10.4's
// TasksApi (tasks, status, schedules, workers) and 2024.10.5's ProvidersApi sync status and
// EventsApi system tasks. Each call goes through the client's own FromJSON; the parsed value is
// then checked model by model: the client's instanceOf<Model> (its required keys), every field
// of the model's interface (type, nullability, enum value, valid Date), and every nested model.
// Exit status 0 only when every check passed.
//
// Usage: node generated_clients_test.js MODULES_DIR BASE_URL TOKEN
//   MODULES_DIR holds node_modules/ with authentik-api-2025 and authentik-api-2024 (npm aliases
//   of @goauthentik/api, installed by `npm ci` from tests/clients/package-lock.json).
'use strict';

const fs = require('fs');
const path = require('path');

const [modulesDir, base, token] = process.argv.slice(2);
if (!modulesDir || !base || !token) {
  console.error('usage: node generated_clients_test.js MODULES_DIR BASE_URL TOKEN');
  process.exit(2);
}
// The package's `main` entry, or its `module` entry when `main` names a file the package does not
// ship: @goauthentik/api 2025.10.4 declares ./dist/index.js but ships only ./dist/esm/index.js
// (which is CommonJS, so require loads it).
function load(name) {
  const dir = path.join(modulesDir, 'node_modules', name);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const entry of [pkg.main, pkg.module]) {
    if (entry && fs.existsSync(path.join(dir, entry))) return require(path.join(dir, entry));
  }
  throw new Error(`${name}: neither main (${pkg.main}) nor module (${pkg.module}) exists`);
}
const a25 = load('authentik-api-2025');
const a24 = load('authentik-api-2024');

// The fields of each model's TypeScript interface (dist/esm/models/<Model>.d.ts of each
// version). `?` may be undefined (optional in the interface, or a null the client maps to
// undefined), `|null` may be null, `[]` an array of, `enum:E` a value of the client's enum E
// other than its "unknown" default, `model:M` a nested model checked the same way.
const models2025 = {
  Pagination: {next: 'number', previous: 'number', count: 'number', current: 'number', totalPages: 'number',
               startIndex: 'number', endIndex: 'number'},
  LogEvent: {timestamp: 'date', logLevel: 'enum:LogLevelEnum', logger: 'string', event: 'string', attributes: 'object'},
  Task: {messageId: 'string?', queueName: 'string?', actorName: 'string', state: 'enum:StateEnum?', mtime: 'date?',
         retries: 'number?', eta: 'date?|null', relObjAppLabel: 'string', relObjModel: 'string',
         relObjId: 'string?|null', uid: 'string', logs: 'model:LogEvent[]', previousLogs: 'model:LogEvent[]',
         aggregatedStatus: 'enum:TaskAggregatedStatusEnum', description: 'string|null'},
  PaginatedTaskList: {pagination: 'model:Pagination', results: 'model:Task[]', autocomplete: 'object'},
  GlobalTaskStatus: {queued: 'number', consumed: 'number', preprocess: 'number', running: 'number',
                     postprocess: 'number', rejected: 'number', done: 'number', info: 'number', warning: 'number',
                     error: 'number'},
  Schedule: {id: 'string', identifier: 'string|null', uid: 'string', actorName: 'string', relObjAppLabel: 'string',
             relObjModel: 'string', relObjId: 'string?|null', crontab: 'string', paused: 'boolean?',
             nextRun: 'date', description: 'string|null', lastTaskStatus: 'enum:LastTaskStatusEnum|null'},
  PaginatedScheduleList: {pagination: 'model:Pagination', results: 'model:Schedule[]', autocomplete: 'object'},
  Worker: {workerId: 'string', version: 'string', versionMatching: 'boolean'},
};
const models2024 = {
  Pagination: models2025.Pagination,
  LogEvent: models2025.LogEvent,
  SystemTask: {uuid: 'string', name: 'string', fullName: 'string', uid: 'string?', description: 'string',
               startTimestamp: 'date', finishTimestamp: 'date', duration: 'number',
               status: 'enum:SystemTaskStatusEnum', messages: 'model:LogEvent[]', expires: 'date?|null',
               expiring: 'boolean?'},
  SyncStatus: {isRunning: 'boolean', tasks: 'model:SystemTask[]'},
  PaginatedSystemTaskList: {pagination: 'model:Pagination', results: 'model:SystemTask[]'},
};

let checks = 0;
const failures = [];
function fail(where, what) {
  failures.push(`${where}: ${what}`);
}

function checkValue(client, type, value, where) {
  const optional = type.includes('?');
  const nullable = type.includes('|null');
  const baseType = type.replace('?', '').replace('|null', '');
  ++checks;
  if (value === undefined) {
    if (!optional) fail(where, 'missing');
    return;
  }
  if (value === null) {
    if (!nullable) fail(where, 'null');
    return;
  }
  if (baseType.endsWith('[]')) {
    if (!Array.isArray(value)) return fail(where, `not an array: ${JSON.stringify(value)}`);
    value.forEach((v, i) => checkValue(client, baseType.slice(0, -2), v, `${where}[${i}]`));
    return;
  }
  if (baseType.startsWith('model:')) return checkModel(client, baseType.slice(6), value, where);
  if (baseType.startsWith('enum:')) {
    const e = client.pkg[baseType.slice(5)];
    if (!e) return fail(where, `the client has no enum ${baseType.slice(5)}`);
    const allowed = Object.values(e).filter((v) => v !== '11184809');
    if (!allowed.includes(value)) fail(where, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
    return;
  }
  switch (baseType) {
    case 'string':
    case 'boolean':
      if (typeof value !== baseType) fail(where, `not a ${baseType}: ${JSON.stringify(value)}`);
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(where, `not a number: ${JSON.stringify(value)}`);
      return;
    case 'object':
      if (typeof value !== 'object' || Array.isArray(value)) fail(where, `not an object: ${JSON.stringify(value)}`);
      return;
    case 'date':
      if (!(value instanceof Date) || Number.isNaN(value.getTime())) fail(where, `not a valid date: ${value}`);
      return;
    default:
      fail(where, `unknown type ${type} in the test`);
  }
}

function checkModel(client, model, value, where) {
  const spec = client.models[model];
  if (!spec) return fail(where, `no spec for ${model} in the test`);
  if (typeof value !== 'object' || value === null) return fail(where, `${model} is not an object`);
  const instanceOf = client.pkg[`instanceOf${model}`];
  if (!instanceOf) return fail(where, `the client has no instanceOf${model}`);
  ++checks;
  if (!instanceOf(value)) fail(where, `instanceOf${model} is false for ${JSON.stringify(value).slice(0, 300)}`);
  for (const [field, type] of Object.entries(spec)) checkValue(client, type, value[field], `${where}.${field}`);
}

const v2025 = {pkg: a25, models: models2025};
const v2024 = {pkg: a24, models: models2024};
function expect(condition, where, what) {
  ++checks;
  if (!condition) fail(where, what);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Polls `probe` every 100 ms until it returns a truthy value; throws after `ms`.
async function waitFor(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

async function main() {
  const started = Date.now();
  const cfg25 = new a25.Configuration({basePath: `${base}/api/v3`, accessToken: token});
  const cfg24 = new a24.Configuration({basePath: `${base}/api/v3`, accessToken: token});
  const tasks = new a25.TasksApi(cfg25);
  const providers = new a24.ProvidersApi(cfg24);
  const events = new a24.EventsApi(cfg24);

  // While the demo's first syncs run: running tasks must parse too.
  const early = await tasks.tasksTasksList({state: 'running'});
  checkModel(v2025, 'PaginatedTaskList', early, 'tasksTasksList(state=running)');
  early.results.forEach((t, i) => expect(t.state === 'running', `early.results[${i}]`, `state ${t.state}`));
  const runningSeen = early.results.length;

  // Each provider's first sync has finished (the demo sends every schedule once at start).
  await waitFor('the first sync of every provider', 60000, async () => {
    const [g, e, s] = await Promise.all([
      providers.providersGoogleWorkspaceSyncStatusRetrieve({id: 1}),
      providers.providersMicrosoftEntraSyncStatusRetrieve({id: 2}),
      providers.providersScimSyncStatusRetrieve({id: 3}),
    ]);
    return [g, e, s].every((st) => !st.isRunning && st.tasks.length > 0);
  });

  // --- 2025.10.4 TasksApi -------------------------------------------------------------------
  const list = await tasks.tasksTasksList({});
  checkModel(v2025, 'PaginatedTaskList', list, 'tasksTasksList()');
  expect(list.results.length >= 4, 'tasksTasksList()', `${list.results.length} tasks, expected the 3 syncs and the cleanup`);
  const scim = await tasks.tasksTasksList({actorName: 'scim_sync', ordering: '-mtime', page: 1, pageSize: 2});
  checkModel(v2025, 'PaginatedTaskList', scim, 'tasksTasksList(actorName=scim_sync)');
  scim.results.forEach((t, i) => expect(t.actorName === 'scim_sync', `scim.results[${i}]`, t.actorName));
  const google = await tasks.tasksTasksList({relObjContentTypeAppLabel: 'authentik_providers_google_workspace',
                                             relObjContentTypeModel: 'googleworkspaceprovider', relObjId: '1'});
  checkModel(v2025, 'PaginatedTaskList', google, 'tasksTasksList(google workspace provider 1)');
  expect(google.results.length >= 1 && google.results.every((t) => t.actorName === 'google_workspace_sync'),
         'tasksTasksList(google workspace provider 1)', JSON.stringify(google.results.map((t) => t.actorName)));
  for (const t of list.results) {
    const one = await tasks.tasksTasksRetrieve({messageId: t.messageId});
    checkModel(v2025, 'Task', one, `tasksTasksRetrieve(${t.actorName})`);
    expect(one.messageId === t.messageId, `tasksTasksRetrieve(${t.messageId})`, one.messageId);
  }
  const status = await tasks.tasksTasksStatusRetrieve();
  checkModel(v2025, 'GlobalTaskStatus', status, 'tasksTasksStatusRetrieve()');
  const counted = Object.values(status).reduce((a, b) => a + b, 0);
  expect(counted === list.pagination.count, 'tasksTasksStatusRetrieve()',
         `counts add up to ${counted}, the list has ${list.pagination.count}`);

  const schedules = await tasks.tasksSchedulesList({});
  checkModel(v2025, 'PaginatedScheduleList', schedules, 'tasksSchedulesList()');
  expect(schedules.results.length === 4, 'tasksSchedulesList()', `${schedules.results.length} schedules`);
  const cleanup = schedules.results.find((s) => s.actorName === 'directory_cleanup');
  const scimSchedule = schedules.results.find((s) => s.actorName === 'scim_sync');
  expect(cleanup && scimSchedule, 'tasksSchedulesList()', 'the cleanup and the scim sync schedules');
  const paused = await tasks.tasksSchedulesList({paused: false, actorName: 'scim_sync'});
  checkModel(v2025, 'PaginatedScheduleList', paused, 'tasksSchedulesList(paused=false, actorName=scim_sync)');
  expect(paused.results.length === 1, 'tasksSchedulesList(paused=false, actorName=scim_sync)', `${paused.results.length}`);
  for (const s of schedules.results) {
    checkModel(v2025, 'Schedule', await tasks.tasksSchedulesRetrieve({id: s.id}), `tasksSchedulesRetrieve(${s.actorName})`);
  }
  let patched = await tasks.tasksSchedulesPartialUpdate({id: scimSchedule.id, patchedScheduleRequest: {paused: true}});
  checkModel(v2025, 'Schedule', patched, 'tasksSchedulesPartialUpdate(paused=true)');
  expect(patched.paused === true, 'tasksSchedulesPartialUpdate(paused=true)', `paused ${patched.paused}`);
  expect((await tasks.tasksSchedulesRetrieve({id: scimSchedule.id})).paused === true, 'tasksSchedulesRetrieve',
         'the pause holds');
  patched = await tasks.tasksSchedulesPartialUpdate({id: scimSchedule.id, patchedScheduleRequest: {paused: false}});
  expect(patched.paused === false, 'tasksSchedulesPartialUpdate(paused=false)', `paused ${patched.paused}`);

  // The newest cleanup run (the registry may keep only the last run of a task: its id changes).
  const newestCleanup = async () =>
    (await tasks.tasksTasksList({actorName: 'directory_cleanup', ordering: '-mtime', pageSize: 1})).results[0];
  const first = await newestCleanup();
  await tasks.tasksSchedulesSendCreate({id: cleanup.id});
  const sent = await waitFor('the sent cleanup run', 10000, async () => {
    const t = await newestCleanup();
    return t && t.messageId !== first.messageId && t.state === 'done' && t;
  });
  await tasks.tasksTasksRetryCreate({messageId: sent.messageId});
  await waitFor('the retried cleanup run', 10000, async () => {
    const t = await newestCleanup();
    return t && t.messageId !== sent.messageId && t.messageId !== first.messageId && t.state === 'done';
  });

  const workers = await tasks.tasksWorkersList();
  expect(Array.isArray(workers) && workers.length === 1, 'tasksWorkersList()', JSON.stringify(workers));
  workers.forEach((w, i) => checkModel(v2025, 'Worker', w, `tasksWorkersList()[${i}]`));

  try {
    await tasks.tasksTasksRetrieve({messageId: '00000000-0000-4000-8000-000000000000'});
    fail('tasksTasksRetrieve(unknown)', 'resolved');
  } catch (e) {
    expect(e.response && e.response.status === 404, 'tasksTasksRetrieve(unknown)', `${e}`);
  }

  // --- 2024.10.5 ProvidersApi sync status and EventsApi system tasks ------------------------
  checkModel(v2024, 'SyncStatus', await providers.providersGoogleWorkspaceSyncStatusRetrieve({id: 1}),
             'providersGoogleWorkspaceSyncStatusRetrieve(1)');
  checkModel(v2024, 'SyncStatus', await providers.providersMicrosoftEntraSyncStatusRetrieve({id: 2}),
             'providersMicrosoftEntraSyncStatusRetrieve(2)');
  checkModel(v2024, 'SyncStatus', await providers.providersScimSyncStatusRetrieve({id: 3}),
             'providersScimSyncStatusRetrieve(3)');
  const systemTasks = await events.eventsSystemTasksList({});
  checkModel(v2024, 'PaginatedSystemTaskList', systemTasks, 'eventsSystemTasksList()');
  const scimTasks = await events.eventsSystemTasksList({name: 'scim_sync', ordering: '-start_timestamp'});
  checkModel(v2024, 'PaginatedSystemTaskList', scimTasks, 'eventsSystemTasksList(name=scim_sync)');
  scimTasks.results.forEach((t, i) => expect(t.name === 'scim_sync', `scimTasks.results[${i}]`, t.name));
  for (const t of systemTasks.results) {
    checkModel(v2024, 'SystemTask', await events.eventsSystemTasksRetrieve({uuid: t.uuid}),
               `eventsSystemTasksRetrieve(${t.name})`);
  }
  const cleanupTask = systemTasks.results.find((t) => t.name === 'directory_cleanup');
  expect(cleanupTask, 'eventsSystemTasksList()', 'has the cleanup');
  if (cleanupTask) {
    await events.eventsSystemTasksRunCreate({uuid: cleanupTask.uuid});
    await waitFor('the re-run cleanup', 10000, async () => {
      const t = await events.eventsSystemTasksList({name: 'directory_cleanup', ordering: '-start_timestamp'});
      return t.results.length > 0 && t.results[0].uuid !== cleanupTask.uuid;
    });
  }

  console.log(`generated clients: ${checks} checks, ${failures.length} failed; ${list.pagination.count} tasks, ` +
              `${runningSeen} seen running, ${schedules.results.length} schedules, ${systemTasks.results.length} ` +
              `system tasks; ${Date.now() - started} ms`);
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(`generated clients: ${e.stack || e}`);
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(1);
});
