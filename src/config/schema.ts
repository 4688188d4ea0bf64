/**
 * The agentgate configuration file (YAML), one TypeBox schema that also holds the defaults.
 * The `directory` section (users, groups, extensions, queues, grants) is validated by the policy
 * model (src/domain/policy parsePolicyDoc), so that its errors name the same paths.
 */
import { Type, type Static } from '@sinclair/typebox';

const Url = Type.String({ pattern: '^https?://', description: 'http(s) URL' });
const Name = Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 64 });

const AriSchema = Type.Object(
  {
    url: Url,
    username: Type.String({ minLength: 1 }),
    password: Type.String({ minLength: 1 }),
    app: Type.String({ default: 'agentgate', pattern: '^[A-Za-z0-9._-]+$' }),
    restTimeoutMs: Type.Integer({ default: 5000, minimum: 100 }),
    pingIntervalMs: Type.Integer({ default: 10000, minimum: 500 }),
  },
  { additionalProperties: false },
);

const AmiSchema = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1', minLength: 1 }),
    port: Type.Integer({ default: 5038, minimum: 1, maximum: 65535 }),
    username: Type.String({ minLength: 1 }),
    secret: Type.String({ minLength: 1 }),
    actionTimeoutMs: Type.Integer({ default: 5000, minimum: 100 }),
    /** Keepalive: a Ping this often; no answer within actionTimeoutMs drops and reopens the connection. */
    pingIntervalMs: Type.Integer({ default: 10000, minimum: 200 }),
  },
  { additionalProperties: false },
);

const ServerSchema = Type.Object(
  { name: Name, ari: Type.Optional(AriSchema), ami: Type.Optional(AmiSchema) },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    instance: Type.Object(
      {
        id: Type.Optional(Name),
        // Heartbeat lease of this instance; agent claims live 3x this long. Both are renewed every
        // half of it. A dead instance's dispatches are adopted about 1.7x this long after it died.
        leaseTtlMs: Type.Integer({ default: 6000, minimum: 1000, maximum: 60000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          [Type.Literal('trace'), Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')],
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    servers: Type.Array(ServerSchema, { minItems: 1 }),
    store: Type.Object(
      {
        redis: Type.Optional(
          Type.Object(
            {
              url: Type.String({ pattern: '^rediss?://' }),
              prefix: Type.String({ default: 'agentgate', pattern: '^[A-Za-z0-9._-]+$' }),
              tenant: Type.String({ default: 'default', pattern: '^[A-Za-z0-9._-]+$' }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    audit: Type.Object({ maxLength: Type.Integer({ default: 100000, minimum: 100 }) }, { additionalProperties: false, default: {} }),
    http: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
        trustedProxies: Type.Array(Type.String(), { default: [] }),
        bodyLimit: Type.Integer({ default: 16384, minimum: 256 }),
        rateLimit: Type.Object(
          { max: Type.Integer({ default: 50, minimum: 1 }), timeWindowMs: Type.Integer({ default: 1000, minimum: 100 }) },
          { additionalProperties: false, default: {} },
        ),
        // Failed authentications per source address (IPv6: per /64) before it gets 429 for the window.
        authFailures: Type.Object(
          { max: Type.Integer({ default: 10, minimum: 1 }), timeWindowMs: Type.Integer({ default: 60000, minimum: 100 }) },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    dispatch: Type.Object(
      {
        answer: Type.Union([Type.Literal('late'), Type.Literal('early')], { default: 'late' }),
        ringTimeoutSec: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
        onWinnerHangupBeforeBridge: Type.Union([Type.Literal('keep_ringing'), Type.Literal('fail')], { default: 'keep_ringing' }),
        fallback: Type.Optional(
          Type.Object(
            {
              context: Type.String({ minLength: 1 }),
              extension: Type.String({ minLength: 1 }),
              priority: Type.Integer({ default: 1, minimum: 1 }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Call control of answered calls (hold, hangup, end, transfer, requeue: docs/api.md "Calls").
     * transferContext: where a blind transfer sends the customer (extension = the number, priority 1).
     * internationalPrefixes: a transfer number starting with one needs flag internationalTransfer.
     * holdAlertSec: a call on hold longer than this is flagged (holdTooLong, a metric).
     * mohClass: the music on hold class played to a customer put on hold.
     * requeue: per queue id, where a requeued customer goes; a queue not listed goes to
     * agentgate-requeue, extension = the queue id, priority 1.
     */
    calls: Type.Object(
      {
        transferContext: Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 79, default: 'agentgate-transfer' }),
        internationalPrefixes: Type.Array(Type.String({ pattern: '^[+0-9]{1,8}$' }), { default: ['00', '011', '+'] }),
        holdAlertSec: Type.Integer({ default: 120, minimum: 1, maximum: 86400 }),
        mohClass: Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 79, default: 'default' }),
        requeue: Type.Record(
          Type.String(),
          Type.Object(
            {
              context: Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 79 }),
              extension: Type.String({ pattern: '^[A-Za-z0-9._+*#-]+$', minLength: 1, maxLength: 79 }),
              priority: Type.Integer({ default: 1, minimum: 1 }),
            },
            { additionalProperties: false },
          ),
          { default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    featureCodes: Type.Object(
      {
        /**
         * Dialplan contexts a channel must be executing in for its UserEvent(AgentGate,...) to be
         * believed (checked over ARI). asterisk-conf/extensions.conf sends *41-*54 from from-internal
         * with Goto(agentgate-features,...): a Goto changes the channel's context, an `include =>`
         * would not (the channel would still report from-internal, where every call runs).
         */
        contexts: Type.Array(Type.String({ pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 79 }), {
          default: ['agentgate-features'],
          minItems: 1,
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    tokens: Type.Array(
      Type.Object(
        {
          user: Name,
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          label: Type.String({ default: 'config' }),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
    directory: Type.Unknown(),
  },
  { additionalProperties: false },
);

export type ConfigShape = Static<typeof ConfigSchema>;
