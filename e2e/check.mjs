// The command an agent runs after sourcing a handoff script: it sends the
// variable as a bearer token and prints only the HTTP status.
//
// usage: node check.mjs VARIABLE URL

const [variable, url] = process.argv.slice(2);
if (!variable || !url) {
  console.error('usage: node check.mjs VARIABLE URL');
  process.exit(2);
}
const value = process.env[variable];
if (value === undefined) {
  console.error(`check: ${variable} is not set`);
  process.exit(2);
}
try {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${value}` } });
  console.log(res.status);
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  // The cause names the address, never the header.
  console.error(`check: ${url}: ${err.cause?.code ?? err.message}`);
  process.exit(1);
}
