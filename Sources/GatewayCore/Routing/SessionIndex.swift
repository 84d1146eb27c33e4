/// Which sessions should receive an event: the routing rule, with no sockets in sight.
///
/// A session receives an event when it is in the event's host, one of its principals is among
/// the event's target principals, and it does not belong to the sender (none of the sender's
/// sessions — pyams_chat_ws only skipped the first one).
///
/// Not thread-safe by design: the server keeps one index per event loop and touches it only on
/// that loop, so routing needs no locks.
public final class SessionIndex<Session: AnyObject> {
    public struct Entry {
        public let session: Session
        public let identityId: String
        public let principals: [String]
        public let host: String
    }

    /// host → principal → sessions holding that principal.
    private var byHost: [String: [String: [ObjectIdentifier: Session]]] = [:]
    private var entries: [ObjectIdentifier: Entry] = [:]

    public init() {}

    public var count: Int { entries.count }

    public func add(_ session: Session, identityId: String, principals: [String], host: String) {
        let key = ObjectIdentifier(session)
        remove(session)
        entries[key] = Entry(session: session, identityId: identityId, principals: principals, host: host)
        for principal in principals {
            byHost[host, default: [:]][principal, default: [:]][key] = session
        }
    }

    public func remove(_ session: Session) {
        let key = ObjectIdentifier(session)
        guard let entry = entries.removeValue(forKey: key) else { return }
        for principal in entry.principals {
            byHost[entry.host]?[principal]?.removeValue(forKey: key)
            if byHost[entry.host]?[principal]?.isEmpty == true { byHost[entry.host]?.removeValue(forKey: principal) }
        }
        if byHost[entry.host]?.isEmpty == true { byHost.removeValue(forKey: entry.host) }
    }

    public func entry(for session: Session) -> Entry? { entries[ObjectIdentifier(session)] }

    /// Calls `body` once per matching session (a session holding several target principals is
    /// visited once).
    public func forEachRecipient(host: String, principals: [String], excludingIdentity sender: String,
                                 _ body: (Entry) -> Void) {
        guard let principalsInHost = byHost[host] else { return }
        if principals.count == 1 {
            guard let sessions = principalsInHost[principals[0]] else { return }
            for key in sessions.keys {
                if let entry = entries[key], entry.identityId != sender { body(entry) }
            }
            return
        }
        var seen = Set<ObjectIdentifier>()
        for principal in principals {
            guard let sessions = principalsInHost[principal] else { continue }
            for key in sessions.keys where seen.insert(key).inserted {
                if let entry = entries[key], entry.identityId != sender { body(entry) }
            }
        }
    }

    public func forEachSession(_ body: (Entry) -> Void) {
        for entry in entries.values { body(entry) }
    }
}
