import GatewayJSON

/// Step 4: may this client publish this event? Runs after the targets are known, before
/// anything is recorded or delivered, only for events from clients (not from the Redis channel,
/// nor from a plugin's own publish). First the chain's publish guards in order (ABI 1.3: skip,
/// accept, rewrite, refuse), then the room member states as the header describes them:
/// `closed` (or no write permission) may not write; `scripted` may write only what a guard
/// accepted — the answer a scripted flow asked for.
public struct GuardStep: Sendable {
    public init() {}

    /// The event to route: `event`, or a guard's rewrite of it. Throws the refusal the client sees.
    public func run(_ event: JSON, chain: PluginChain, publisher: Publisher, memberships: [RoomMembership],
                    ingress: Ingress) throws(GatewayError) -> JSON {
        guard !publisher.trusted else { return event }
        switch chain.guardPublish(event, publisher: publisher, memberships: memberships, ingress: ingress) {
        case .refused(let error):
            throw error
        case .passed(let routed, let accepted):
            try Self.checkMemberStates(memberships, acceptedByGuard: accepted)
            return routed
        }
    }

    static func checkMemberStates(_ memberships: [RoomMembership], acceptedByGuard: Bool) throws(GatewayError) {
        for membership in memberships {
            let member = membership.member
            guard member.state != .closed, member.permissions.contains(.write) else {
                throw .roomWriteForbidden(membership.room, state: member.state)
            }
            if member.state == .scripted && !acceptedByGuard { throw .roomScripted(membership.room) }
        }
    }
}
