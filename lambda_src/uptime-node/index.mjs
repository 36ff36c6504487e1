// A Node.js function with a dependency (ms), built by kgateway-lambda from its lock file.
import ms from "ms";

const started = Date.now();

export const handler = async (event) => ({
  statusCode: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ message: "Hello from Node.js on Lambda", warm_for: ms(Date.now() - started, { long: true }), event }),
});
