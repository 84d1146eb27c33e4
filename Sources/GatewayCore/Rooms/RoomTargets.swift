/// The rooms seam of the pipeline: `{"target": {"rooms": ["<id>"]}}` names a room instead of
/// principals. The pipeline asks who receives such an event (its members, read at publish time,
/// so a membership change applies to the very next event) and tells the rooms once the engine
/// took it (room history, unread counts, unread updates to members).
///
/// Threads: the pipeline calls both on the blocking-work pool (room state lives in SQLite), never
/// on an event loop.
public protocol RoomTargets: Sendable {
    /// The principals that receive an event `publisher` sends to `rooms` live, and the
    /// publisher's membership in each (for the guards: GuardStep decides whether its state lets
    /// it write). Throws the refusal the publisher sees: `room.not_found`, `room.not_member`.
    func recipients(ofRooms rooms: [String], publisher: Publisher) throws(GatewayError) -> RoomRecipients

    /// After the engine accepted `event`: appends it to each room's history, counts it unread
    /// for every member but the sender and sends those members their new counts.
    func delivered(_ event: Event, payload: [UInt8], rooms: [String])
}
