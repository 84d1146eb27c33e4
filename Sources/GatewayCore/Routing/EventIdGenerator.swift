import Atomics

/// Unique, increasing event ids across the whole process. Seeded from the history store's last
/// id at start so ids keep increasing across restarts (clients resume with `last_id`).
public final class EventIdGenerator: Sendable {
    private let last: ManagedAtomic<Int64>

    public init(startingAfter lastId: Int64) {
        last = ManagedAtomic(lastId)
    }

    public func next() -> Int64 {
        last.wrappingIncrementThenLoad(ordering: .relaxed)
    }
}
