// A second example function, to show several functions behind one Gateway: it greets the caller.
export const handler = async (event) => {
  const name = event && typeof event.name === "string" ? event.name : "world";
  return { statusCode: 200, body: `Hello, ${name}!` };
};
