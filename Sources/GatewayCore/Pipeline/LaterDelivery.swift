/// The pipeline's seam to offline delivery (GatewayServer/Offline implements it over SQLite):
/// events held by a `countdown`, messenger deliveries owed after an event went out (its
/// `fallback`, or the default policies), and read marks that cancel what is owed.
public protocol LaterDelivery: Sendable {
    /// Keeps a routed-ready event (id, targets set) until `seconds` from now; the scheduler then
    /// hands it back through `EventPipeline.routeHeld`. Throws when it cannot be kept (503).
    func hold(_ event: Event, publisher: String, seconds: Int, fallback: DeliveryInstructions.Fallback?) throws(GatewayError)
    /// The event was just delivered to whoever is connected: schedule what is owed later.
    /// Called on the pipeline's thread (often an event loop): must not block.
    func delivered(_ event: Event, payload: [UInt8], fallback: DeliveryInstructions.Fallback?)
    /// `reader` read event `eventId` (a read frame or POST /api/v1/read). Must not block.
    func markRead(_ eventId: Int64, reader: String)
    /// Aliases of the messengers a `fallback` may name (the running chain's).
    var messengerAliases: [String] { get }
}
