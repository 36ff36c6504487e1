// The echo function from kgateway's "AWS Lambda" guide: it answers with the event it was invoked with.
export const handler = async (event) => {
  return {
    statusCode: 200,
    body: "Response from AWS Lambda. Here's the request you just sent me: " + JSON.stringify(event),
  };
};
