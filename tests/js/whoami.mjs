// Who the JavaScript SDK v3 is, with its default credential chain (what every
// Node program gets): prints {"arn": ...} as JSON. The endpoint comes from
// SESSMAN_T_ENDPOINT, a variable no hand-over touches.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";

const client = new STSClient({ endpoint: process.env.SESSMAN_T_ENDPOINT });
const identity = await client.send(new GetCallerIdentityCommand({}));
const credentials = await client.config.credentials();
console.log(JSON.stringify({ arn: identity.Arn, key: credentials.accessKeyId }));
