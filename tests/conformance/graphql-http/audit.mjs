// The GraphQL-over-HTTP spec's audit (graphql-http's auditServer) against one endpoint.
//
//   node audit.mjs URL [--header NAME:VALUE ...] [--timeout-ms N]
//
// Every request carries the --header headers (the router's CSRF preflight header, so the
// audit runs with CSRF protection on). Prints one JSON array on stdout, one entry per
// audit: {id, name, status: "ok" | "warn" | "notice" | "error", reason?, responseStatus?}.
// Exit status 0 when the audit ran (whatever its results), 2 when it could not run; then
// stderr has one sentence saying why. Each request gives up after --timeout-ms (default
// 10000), so a stuck server fails the run instead of hanging it.
import { auditServer } from 'graphql-http';

function parseArgs(argv) {
  const options = { url: null, headers: {}, timeoutMs: 10000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--header') {
      const pair = argv[++i] ?? '';
      const colon = pair.indexOf(':');
      if (colon <= 0) throw new Error(`--header wants NAME:VALUE, not ${JSON.stringify(pair)}`);
      options.headers[pair.slice(0, colon).trim().toLowerCase()] = pair.slice(colon + 1).trim();
    } else if (arg === '--timeout-ms') {
      options.timeoutMs = Number(argv[++i]);
      if (!(options.timeoutMs > 0)) throw new Error('--timeout-ms wants a positive number');
    } else if (options.url === null) {
      options.url = arg;
    } else {
      throw new Error(`unexpected argument ${JSON.stringify(arg)}`);
    }
  }
  if (options.url === null) throw new Error('usage: node audit.mjs URL [--header NAME:VALUE ...] [--timeout-ms N]');
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const fetchFn = (input, init = {}) => {
    const headers = new Headers(init.headers);
    for (const [name, value] of Object.entries(options.headers)) headers.set(name, value);
    return fetch(input, { ...init, headers, signal: AbortSignal.timeout(options.timeoutMs) });
  };
  const results = await auditServer({ url: options.url, fetchFn });
  const report = results.map(({ id, name, status, reason, response }) => ({
    id, name, status, ...(reason === undefined ? {} : { reason }), ...(response ? { responseStatus: response.status } : {}),
  }));
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((error) => {
  const cause = error?.cause?.code ?? error?.cause?.message ?? error?.name;
  process.stderr.write(`graphql-http audit could not run: ${error?.message ?? error}${cause ? ` (${cause})` : ''}\n`);
  process.exit(2);
});
