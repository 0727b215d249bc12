'use strict';

// The REST API's stage as a CloudFormation resource of its own, throttled: custom.apiStage in serverless.yml.
//
// osls (Serverless Framework v3) has the AWS::ApiGateway::Deployment it generates create the stage (through
// its StageName) and has no setting for a stage's method settings; its own tracing and log settings are
// applied with API calls after the deploy, outside the template. A deployment's StageDescription cannot carry
// them either: CloudFormation refuses it once the stage exists, and osls makes a new deployment (with a new
// logical id) on every deploy, which is also why serverless.yml cannot refer to it. So, once the events are
// compiled, this takes StageName off that deployment and declares the stage as AWS::ApiGateway::Stage (the
// logical id osls itself reserves for it), pointing at the deployment, with throttling for every method and
// X-Ray tracing as provider.tracing.apiGateway says (osls's own call after the deploy then sets the same).

class ApiStage {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineCustomProperties({
      properties: {
        apiStage: {
          type: 'object',
          properties: {
            throttlingRateLimit: { type: 'number', minimum: 1 },
            throttlingBurstLimit: { type: 'integer', minimum: 1 },
          },
          required: ['throttlingRateLimit', 'throttlingBurstLimit'],
          additionalProperties: false,
        },
      },
    });
    this.hooks = { 'after:package:compileEvents': () => this.declareStage() };
  }

  declareStage() {
    const settings = (this.serverless.service.custom || {}).apiStage;
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    const deployments = Object.keys(resources).filter(
      (id) => resources[id].Type === 'AWS::ApiGateway::Deployment'
    );
    if (!settings || deployments.length !== 1) {
      throw new this.serverless.classes.Error(
        `deploy/api-stage.js needs custom.apiStage and one REST API deployment (found ${deployments.length})`
      );
    }
    const deployment = resources[deployments[0]].Properties;
    const stageName = deployment.StageName;
    delete deployment.StageName;
    const naming = this.serverless.getProvider('aws').naming;
    resources[naming.getStageLogicalId()] = {
      Type: 'AWS::ApiGateway::Stage',
      Properties: {
        RestApiId: deployment.RestApiId,
        DeploymentId: { Ref: deployments[0] },
        StageName: stageName,
        TracingEnabled: Boolean((this.serverless.service.provider.tracing || {}).apiGateway),
        // "/*" and "*": every resource and method of the stage, unless a method has settings of its own.
        MethodSettings: [
          {
            ResourcePath: '/*',
            HttpMethod: '*',
            ThrottlingRateLimit: settings.throttlingRateLimit,
            ThrottlingBurstLimit: settings.throttlingBurstLimit,
          },
        ],
      },
    };
  }
}

module.exports = ApiStage;
