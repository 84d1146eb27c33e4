/// Which sessions should receive an event: the routing rule, with no sockets in sight.
///
/// A session receives an event when it is in the event's host, one of its principals is among
/// the event's target principals, and it does not belong to the sender (none of the sender's
/// sessions — pyams_chat_ws only skipped the first one).
///
/// Not thread-safe by design: the server keeps one index per event loop and touches it only on
/// that loop, so routing needs no locks. Sessions of one (host, principal) sit in contiguous
/// arrays so a fan-out to thousands walks memory in order, without hashing per recipient.
public final class SessionIndex<Session: AnyObject> {
    public struct Entry {
        public let session: Session
        public let identityId: String
        public let principals: [String]
        public let host: String
    }

    /// The sessions holding one principal in one host. Removal swaps with the last element.
    final class Bucket {
        var sessions: ContiguousArray<Session> = []
        var identityIds: ContiguousArray<String> = []
        var slots: [ObjectIdentifier: Int] = [:]

        func insert(_ session: Session, identityId: String) {
            slots[ObjectIdentifier(session)] = sessions.count
            sessions.append(session)
            identityIds.append(identityId)
        }

        func remove(_ session: Session) {
            guard let slot = slots.removeValue(forKey: ObjectIdentifier(session)) else { return }
            let last = sessions.count - 1
            if slot != last {
                sessions[slot] = sessions[last]
                identityIds[slot] = identityIds[last]
                slots[ObjectIdentifier(sessions[slot])] = slot
            }
            sessions.removeLast()
            identityIds.removeLast()
        }
    }

    /// host → principal → sessions holding that principal.
    private var byHost: [String: [String: Bucket]] = [:]
    private var entries: [ObjectIdentifier: Entry] = [:]

    public init() {}

    public var count: Int { entries.count }

    public func add(_ session: Session, identityId: String, principals: [String], host: String) {
        remove(session)
        let unique = principals.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        entries[ObjectIdentifier(session)] = Entry(session: session, identityId: identityId, principals: unique, host: host)
        for principal in unique {
            let bucket: Bucket
            if let existing = byHost[host]?[principal] {
                bucket = existing
            } else {
                bucket = Bucket()
                byHost[host, default: [:]][principal] = bucket
            }
            bucket.insert(session, identityId: identityId)
        }
    }

    public func remove(_ session: Session) {
        guard let entry = entries.removeValue(forKey: ObjectIdentifier(session)) else { return }
        for principal in entry.principals {
            guard let bucket = byHost[entry.host]?[principal] else { continue }
            bucket.remove(session)
            if bucket.sessions.isEmpty { byHost[entry.host]?.removeValue(forKey: principal) }
        }
        if byHost[entry.host]?.isEmpty == true { byHost.removeValue(forKey: entry.host) }
    }

    public func entry(for session: Session) -> Entry? { entries[ObjectIdentifier(session)] }

    /// Calls `body` once per matching session (a session holding several target principals is
    /// visited once).
    public func forEachRecipient(host: String, principals: [String], excludingIdentity sender: String,
                                 _ body: (Session) -> Void) {
        guard let principalsInHost = byHost[host] else { return }
        if principals.count == 1 {
            guard let bucket = principalsInHost[principals[0]] else { return }
            for slot in bucket.sessions.indices where bucket.identityIds[slot] != sender {
                body(bucket.sessions[slot])
            }
            return
        }
        var seen = Set<ObjectIdentifier>()
        for principal in principals {
            guard let bucket = principalsInHost[principal] else { continue }
            for slot in bucket.sessions.indices where bucket.identityIds[slot] != sender {
                let session = bucket.sessions[slot]
                if seen.insert(ObjectIdentifier(session)).inserted { body(session) }
            }
        }
    }

    public func forEachSession(_ body: (Entry) -> Void) {
        for entry in entries.values { body(entry) }
    }
}
