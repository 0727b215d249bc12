'use strict';

// The stage's alarms, the topic they go to and its CloudWatch dashboard, made from the compiled template so that
// every function, table, queue and stream mapping has its alarms and graphs without a list to keep in step:
//
//   - the API's 5xx rate: 5XXError over Count (metric math), above 5 % in 3 of 5 minutes with 20 requests a minute;
//   - each function's Errors and Throttles, any in 5 minutes;
//   - the iterator age of each stream mapping, above 5 minutes for 5 minutes (its function is falling behind);
//   - each queue (they are all failures or dead-letter queues) holding a message;
//   - each table's throttled reads and writes, the table's and its indexes' (metric math; a table with more
//     than 4 indexes has a second alarm), in 2 of 5 minutes;
//   - the account's SMS spend this month at 80 % of custom.operations.smsMonthlySpendLimit.
//
// Every alarm notifies the operations topic when it fires and when it is over (OK); custom.operations.email, when
// not empty, subscribes that address to it. Each alarm's description says what to do (it is in the email);
// README, Operating it, says more. Missing data is not breaching: these metrics exist only while something
// happens, and the stage at rest is well.

const SMS_SPEND_SHARE = 0.8;
const SCOPES_PER_ALARM = 5; // a table or index has 2 metrics; CloudWatch takes 10 in one metric math alarm

class Operations {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineCustomProperties({
      properties: {
        operations: {
          type: 'object',
          properties: {
            email: { type: 'string' },
            smsMonthlySpendLimit: { type: 'number', exclusiveMinimum: 0 },
          },
          required: ['email', 'smsMonthlySpendLimit'],
          additionalProperties: false,
        },
      },
    });
    this.hooks = {
      'after:aws:package:finalize:mergeCustomProviderResources': () => this.addOperations(),
    };
  }

  addOperations() {
    const settings = (this.serverless.service.custom || {}).operations;
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    const resources = template.Resources;
    const prefix = `${this.serverless.service.service}-${this.serverless.getProvider('aws').getStage()}`;
    const api = apiOf(resources);
    if (!settings || !api) {
      throw new this.serverless.classes.Error(
        'deploy/operations.js needs custom.operations and the REST API with its stage (deploy/api-stage.js)'
      );
    }
    const made = { OperationsTopic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: `${prefix}-operations` } } };
    if (settings.email) {
      made.OperationsEmailSubscription = {
        Type: 'AWS::SNS::Subscription',
        Properties: { TopicArn: { Ref: 'OperationsTopic' }, Protocol: 'email', Endpoint: settings.email },
      };
    }
    const alarm = (id, name, description, properties) => {
      made[id] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: `${prefix}-${name}`,
          AlarmDescription: description,
          ActionsEnabled: true,
          AlarmActions: [{ Ref: 'OperationsTopic' }],
          OKActions: [{ Ref: 'OperationsTopic' }],
          TreatMissingData: 'notBreaching',
          ...properties,
        },
      };
    };
    const byType = (type) => Object.keys(resources).filter((id) => resources[id].Type === type);
    const functions = byType('AWS::Lambda::Function');
    const tables = byType('AWS::DynamoDB::Table');
    const queues = byType('AWS::SQS::Queue');
    const streams = byType('AWS::Lambda::EventSourceMapping')
      .map((id) => resources[id].Properties)
      .filter((mapping) => String((mapping.EventSourceArn['Fn::GetAtt'] || [])[1]) === 'StreamArn')
      .map((mapping) => mapping.FunctionName['Fn::GetAtt'][0]);

    alarm(
      'ApiServerErrorsAlarm',
      'api-5xx-rate',
      'More than 5 % of the API\'s requests answered 5xx (3 of the last 5 minutes). Look at the web ' +
        'function\'s errors, throttles and logs, and the tables\' throttles. README, Operating it.',
      {
        Metrics: [
          apiMetric('errors', api, '5XXError'),
          apiMetric('requests', api, 'Count'),
          // below 20 requests a minute, a few errors are not a rate worth waking anyone for
          { Id: 'rate', Label: '5xx %', Expression: 'IF(requests >= 20, 100 * errors / requests, 0)', ReturnData: true },
        ],
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 5,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
      }
    );
    for (const id of functions) {
      const name = resources[id].Properties.FunctionName;
      const short = id.replace(/LambdaFunction$/, '');
      alarm(
        `${short}ErrorsAlarm`,
        `${functionKey(name, prefix)}-errors`,
        `The ${name} function failed (an error it did not handle, or a timeout) in the last 5 minutes. Read its ` +
          'log group and X-Ray traces. README, Operating it.',
        lambdaMetric(id, 'Errors')
      );
      alarm(
        `${short}ThrottlesAlarm`,
        `${functionKey(name, prefix)}-throttles`,
        `Lambda turned away calls to ${name} in the last 5 minutes: it ran at its concurrency limit. ` +
          'README, Operating it.',
        lambdaMetric(id, 'Throttles')
      );
    }
    for (const id of streams) {
      const name = resources[id].Properties.FunctionName;
      alarm(
        `${id.replace(/LambdaFunction$/, '')}IteratorAgeAlarm`,
        `${functionKey(name, prefix)}-iterator-age`,
        `${name} is more than 5 minutes behind its stream (5 minutes running): the counters and notices lag, ` +
          'and a change is dropped to the failures queue after 24 hours. README, Operating it.',
        {
          Namespace: 'AWS/Lambda',
          MetricName: 'IteratorAge',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
          Statistic: 'Maximum',
          Period: 60,
          EvaluationPeriods: 5,
          Threshold: 300000,
          ComparisonOperator: 'GreaterThanThreshold',
        }
      );
    }
    for (const id of queues) {
      alarm(
        `${id}Alarm`,
        `${kebab(id)}-not-empty`,
        `${id} holds messages: events the stage could not process after every retry. ` +
          'README, Operating it, says how to read and replay them.',
        {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
          Statistic: 'Maximum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        }
      );
    }
    for (const id of tables) {
      // the table and each of its indexes, reads and writes: as many alarms as the 10-metric limit takes
      const scopes = [null, ...(resources[id].Properties.GlobalSecondaryIndexes || []).map((i) => i.IndexName)];
      for (let n = 0; n * SCOPES_PER_ALARM < scopes.length; n += 1) {
        const watched = scopes.slice(n * SCOPES_PER_ALARM, (n + 1) * SCOPES_PER_ALARM);
        const metrics = throttleMetrics(id, watched);
        const names = watched.map((index) => (index ? `index ${index}` : 'the table'));
        alarm(
          `${id}Throttles${n ? n + 1 : ''}Alarm`,
          `${kebab(id)}-throttled${n ? `-${n + 1}` : ''}`,
          `DynamoDB throttled reads or writes on ${id} (${names.join(', ')}) in 2 of the last 5 minutes. The SDK ` +
            'retries them; if the API\'s 5xx rise too, look for a hot key. README, Operating it.',
          {
            Metrics: [
              ...metrics,
              { Id: 'throttled', Label: 'Throttled', Expression: `SUM([${metrics.map((m) => m.Id)}])`, ReturnData: true },
            ],
            ComparisonOperator: 'GreaterThanThreshold',
            Threshold: 0,
            EvaluationPeriods: 5,
            DatapointsToAlarm: 2,
          }
        );
      }
    }
    alarm(
      'SmsSpendAlarm',
      'sms-spend',
      `This account's SMS spend this month passed ${SMS_SPEND_SHARE * 100} % of its limit ` +
        `(USD ${settings.smsMonthlySpendLimit}): past the limit SNS sends no more texts. README, Operating it.`,
      {
        Namespace: 'AWS/SNS',
        MetricName: 'SMSMonthToDateSpentUSD',
        Statistic: 'Maximum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: round(settings.smsMonthlySpendLimit * SMS_SPEND_SHARE),
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      }
    );
    made.OperationsDashboard = {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        DashboardName: prefix,
        DashboardBody: { 'Fn::Sub': JSON.stringify(dashboard({ api, functions, streams, queues, tables, made })) },
      },
    };
    for (const id of Object.keys(made)) {
      if (resources[id]) {
        throw new this.serverless.classes.Error(`deploy/operations.js: ${id} is already in the template`);
      }
    }
    Object.assign(resources, made);
  }
}

// The REST API's name and stage, as API Gateway's metrics name them.
function apiOf(resources) {
  const api = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::RestApi');
  const stage = Object.values(resources).find((r) => r.Type === 'AWS::ApiGateway::Stage');
  return api && stage ? { name: api.Properties.Name, stage: stage.Properties.StageName } : null;
}

function apiMetric(id, api, metricName) {
  return {
    Id: id,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: 'AWS/ApiGateway',
        MetricName: metricName,
        Dimensions: [
          { Name: 'ApiName', Value: api.name },
          { Name: 'Stage', Value: api.stage },
        ],
      },
      Period: 60,
      Stat: 'Sum',
    },
  };
}

function lambdaMetric(id, metricName) {
  return {
    Namespace: 'AWS/Lambda',
    MetricName: metricName,
    Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }],
    Statistic: 'Sum',
    Period: 300,
    EvaluationPeriods: 1,
    Threshold: 0,
    ComparisonOperator: 'GreaterThanThreshold',
  };
}

// ReadThrottleEvents and WriteThrottleEvents of the table (index null) or of each of its indexes named.
function throttleMetrics(id, indexes) {
  return indexes.flatMap((index, n) =>
    ['ReadThrottleEvents', 'WriteThrottleEvents'].map((metricName) => ({
      Id: `${metricName[0].toLowerCase()}${n}`,
      ReturnData: false,
      MetricStat: {
        Metric: {
          Namespace: 'AWS/DynamoDB',
          MetricName: metricName,
          Dimensions: [
            { Name: 'TableName', Value: { Ref: id } },
            ...(index ? [{ Name: 'GlobalSecondaryIndexName', Value: index }] : []),
          ],
        },
        Period: 60,
        Stat: 'Sum',
      },
    }))
  );
}

// The dashboard's body; "${LogicalId}" and "${LogicalId.Attribute}" are filled in by Fn::Sub.
function dashboard({ api, functions, streams, queues, tables, made }) {
  const apiDimensions = ['ApiName', api.name, 'Stage', api.stage];
  const each = (ids, metric) => ids.flatMap((id) => metric(id));
  const widgets = [
    graph('API requests', [
      ['AWS/ApiGateway', 'Count', ...apiDimensions, { stat: 'Sum', label: 'requests' }],
      ['AWS/ApiGateway', '4XXError', ...apiDimensions, { stat: 'Sum', label: '4xx' }],
      ['AWS/ApiGateway', '5XXError', ...apiDimensions, { stat: 'Sum', label: '5xx' }],
    ]),
    graph('API latency (ms)', [
      ['AWS/ApiGateway', 'Latency', ...apiDimensions, { stat: 'p50', label: 'p50' }],
      ['AWS/ApiGateway', 'Latency', ...apiDimensions, { stat: 'p99', label: 'p99' }],
      ['AWS/ApiGateway', 'IntegrationLatency', ...apiDimensions, { stat: 'p99', label: 'integration p99' }],
    ]),
    graph(
      'Function errors and throttles',
      each(functions, (id) => [
        ['AWS/Lambda', 'Errors', 'FunctionName', `\${${id}}`, { stat: 'Sum' }],
        ['AWS/Lambda', 'Throttles', 'FunctionName', `\${${id}}`, { stat: 'Sum' }],
      ])
    ),
    graph(
      'Function duration p99 (ms)',
      each(functions, (id) => [['AWS/Lambda', 'Duration', 'FunctionName', `\${${id}}`, { stat: 'p99' }]])
    ),
    graph(
      'Concurrent executions',
      each(functions, (id) => [['AWS/Lambda', 'ConcurrentExecutions', 'FunctionName', `\${${id}}`, { stat: 'Maximum' }]])
    ),
    graph(
      'Stream iterator age (ms)',
      each(streams, (id) => [['AWS/Lambda', 'IteratorAge', 'FunctionName', `\${${id}}`, { stat: 'Maximum' }]])
    ),
    graph(
      'Failures and dead-letter queues (messages)',
      each(queues, (id) => [
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `\${${id}.QueueName}`, { stat: 'Maximum' }],
      ])
    ),
    graph(
      'DynamoDB consumed capacity',
      each(tables, (id) => [
        ['AWS/DynamoDB', 'ConsumedReadCapacityUnits', 'TableName', `\${${id}}`, { stat: 'Sum', label: `${id} read` }],
        ['AWS/DynamoDB', 'ConsumedWriteCapacityUnits', 'TableName', `\${${id}}`, { stat: 'Sum', label: `${id} write` }],
      ])
    ),
    graph(
      'DynamoDB throttled events (tables)',
      each(tables, (id) => [
        ['AWS/DynamoDB', 'ReadThrottleEvents', 'TableName', `\${${id}}`, { stat: 'Sum', label: `${id} read` }],
        ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', `\${${id}}`, { stat: 'Sum', label: `${id} write` }],
      ])
    ),
    graph('SMS spend this month (USD)', [['AWS/SNS', 'SMSMonthToDateSpentUSD', { stat: 'Maximum' }]], {
      annotations: { horizontal: [{ label: 'alarm', value: made.SmsSpendAlarm.Properties.Threshold }] },
    }),
    {
      type: 'alarm',
      width: 24,
      height: 6,
      properties: {
        title: 'Alarms',
        alarms: Object.keys(made)
          .filter((id) => made[id].Type === 'AWS::CloudWatch::Alarm')
          .map((id) => `arn:\${AWS::Partition}:cloudwatch:\${AWS::Region}:\${AWS::AccountId}:alarm:${made[id].Properties.AlarmName}`),
      },
    },
  ];
  return { widgets };
}

function graph(title, metrics, extra = {}) {
  return {
    type: 'metric',
    width: 12,
    height: 6,
    properties: { title, metrics, view: 'timeSeries', region: '${AWS::Region}', period: 60, ...extra },
  };
}

// webapp-dev-web -> web (the function's key in serverless.yml)
function functionKey(name, prefix) {
  return name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
}

// EventsFailuresQueue -> events-failures-queue
function kebab(id) {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

function round(amount) {
  return Math.round(amount * 100) / 100;
}

module.exports = Operations;
