// A TypeScript stack reusing kgateway-lambda's composite, through the SDK `pulumi package add` generates.
import * as pulumi from "@pulumi/pulumi";
import * as kgatewayLambda from "@pulumi/kgateway-lambda";

const echo = new kgatewayLambda.LambdaGatewayRoute("echo", {
    function: {
        functionName: "echo",
        code: new pulumi.asset.FileArchive("../../lambda_src/echo"),
        architecture: "arm64",
    },
    backend: { namespace: "kgateway-system", kgatewayVersion: "auto" },
    routes: [{ path: "/echo", hostnames: ["api.example.com"] }],
    credentials: { mode: "generated", rotation: "2026-11" },
});

export const functionArn = echo.functionArn;
export const backendName = echo.backendName;
