// The JavaScript SDK v3 as a child of `sessman exec --server` (tests/test_server_exec.py).
//
// Calls STS GetCallerIdentity with the default credential chain (given only
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) and with fromContainerMetadata
// (which reads only AWS_CONTAINER_AUTHORIZATION_TOKEN), each until the server
// has renewed the credentials once, and prints what it saw as JSON.
import { readFileSync } from "node:fs";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromContainerMetadata } from "@aws-sdk/credential-providers";

const region = process.env.AWS_REGION;
const endpoint = process.env.AWS_ENDPOINT_URL;
const deadline = Date.now() + 90_000;

async function call(credentials) {
  // A new client each time: the SDK keeps credentials until 5 minutes before
  // expiry, so only a new provider asks the server again.
  const client = new STSClient({ region, endpoint, credentials });
  try {
    const identity = await client.send(new GetCallerIdentityCommand({}));
    const used = await client.config.credentials();
    return { arn: identity.Arn, key: used.accessKeyId };
  } finally {
    client.destroy();
  }
}

async function acrossRenewal(makeCredentials) {
  const first = await call(makeCredentials());
  let last = first;
  while (last.key === first.key && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await call(makeCredentials());
  }
  return [first, last];
}

// sessman hands over the token both ways; the default chain is tried with
// the file alone, fromContainerMetadata with the variable (all it reads).
const token = process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
const sameToken =
  token === readFileSync(process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, "utf8");
delete process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
const chain = await acrossRenewal(() => undefined);
process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = token;
const container = await acrossRenewal(() => fromContainerMetadata({ timeout: 2000 }));
console.log(JSON.stringify({ sameToken, chain, container }));
