/**
 * The alarms an operator of the AWS profile needs, all sent to one SNS topic:
 * - a job reached the dead-letter queue (a customer's message or an agent's reply did not get through);
 * - the oldest job waits too long (Genesys or a platform is down or rate-limiting, or the worker is stuck);
 * - a function fails or is throttled.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
 */
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface BridgeAlarmsProps {
  queue: IQueue;
  deadLetterQueue: IQueue;
  functions: Record<string, IFunction>;
  topic: ITopic;
  /** Age of the oldest waiting job that raises the alarm. */
  oldestMessageAge: Duration;
}

export class BridgeAlarms extends Construct {
  constructor(scope: Construct, id: string, props: BridgeAlarmsProps) {
    super(scope, id);
    const alarm = (name: string, metric: IMetric, threshold: number, description: string) =>
      new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      }).addAlarmAction(new SnsAction(props.topic));

    alarm(
      'DeadLetters',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
      1,
      'dmbridge gave up on a job: it is in the dead-letter queue with its error (message attribute dmbridge.error). Fix the cause, then redrive it.',
    );
    alarm(
      'OldestJob',
      props.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      props.oldestMessageAge.toSeconds(),
      `A dmbridge job has waited ${props.oldestMessageAge.toHumanString()}: Genesys or a platform is down or rate-limiting, or the worker function is failing.`,
    );
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${name}Errors`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 1, `The dmbridge ${name} function failed.`);
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }),
        1,
        `The dmbridge ${name} function was throttled: raise the account's Lambda concurrency.`,
      );
    }
  }
}
