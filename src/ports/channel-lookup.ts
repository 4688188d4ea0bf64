/**
 * What the queue service asks Asterisk about a channel before it believes a feature-code UserEvent:
 * any AMI client with the `user` write class can send `Action: UserEvent` with any Channel and
 * Uniqueid, so the actor must be proven by the PBX itself. An ARI channel id is the AMI Uniqueid.
 */
export interface ChannelInfo {
  /** `PJSIP/1001-00000004` */
  name: string;
  /** The dialplan context the channel is executing in now. */
  context: string;
  exten: string;
}

export interface ChannelLookup {
  /**
   * The live channel with this id on that Asterisk server, or null when it does not exist. Rejects
   * when the server cannot be asked (no ARI configured for it, ARI down or too slow): the caller must
   * then refuse, never assume.
   */
  channel(server: string, id: string): Promise<ChannelInfo | null>;
}
