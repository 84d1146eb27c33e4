import Foundation
import GatewayAuth
import GatewayCore
import GatewayJSON
import GatewayStore
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// Offline delivery: the events held by a countdown, and the messenger deliveries owed to
/// recipients who were offline or have not read an event in time. Owns no timer (see
/// OfflineScheduler) and no sockets. Calls made on an event loop (`routed`, `rememberClaims`)
/// hand their store writes to the blocking pool; `hold` and `cancel` write one row at once
/// (their answer depends on it; WAL without fsync per commit); `runDue` calls messengers, which
/// block — run it on the blocking pool only.
final class OfflineDelivery: LaterDelivery {
    private let store: OfflineStore
    private let settings: GatewayConfig.Offline
    private let chain: ChainReference
    /// Whether a principal has a connection right now (the fan-out's presence index).
    private let isOnline: @Sendable (String) -> Bool
    private let metrics: MessengerMetrics
    private let logger: Logger
    private let now: @Sendable () -> Double
    private let pool: NIOThreadPool
    /// "principal\0alias" → the claim address already stored.
    private let claimsStored = NIOLockedValueBox<[String: String]>([:])

    init(store: OfflineStore, settings: GatewayConfig.Offline, chain: ChainReference,
         isOnline: @escaping @Sendable (String) -> Bool, metrics: MessengerMetrics, pool: NIOThreadPool, logger: Logger,
         now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.store = store
        self.pool = pool
        self.settings = settings
        self.chain = chain
        self.isOnline = isOnline
        self.metrics = metrics
        self.logger = logger
        self.now = now
    }

    // MARK: Held events (countdown)

    var messengerAliases: [String] { chain.current.messengerAliases }

    /// Stores a normalized event (with its targets) to be routed `seconds` from now. The pipeline
    /// calls it on the blocking pool (an event with a countdown is routed there).
    func hold(_ event: Event, publisher: String, seconds: Int, fallback: DeliveryInstructions.Fallback?) throws(GatewayError) {
        let record = JSON.object()
        record.set("event", event.json)
        record.set("fallback", DeliveryInstructions(fallback: fallback).fallbackJSON)
        do throws(StoreError) {
            try store.hold(eventId: event.id, publisher: publisher, dueAt: now() + Double(seconds), payload: record.encoded())
        } catch {
            logger.error("cannot hold an event", metadata: ["error": "\(error)"])
            throw GatewayError(code: "offline.store_failed", message: "The event could not be held; see the gateway log.", status: 500)
        }
        metrics.held("held")
    }

    func cancel(eventId: Int64, publisher: String) throws(GatewayError) {
        let outcome: OfflineStore.CancelOutcome
        do throws(StoreError) {
            outcome = try store.cancelHeld(eventId: eventId, publisher: publisher)
        } catch {
            logger.error("cannot cancel a held event", metadata: ["error": "\(error)"])
            throw GatewayError(code: "offline.store_failed", message: "The event could not be cancelled; see the gateway log.", status: 500)
        }
        switch outcome {
        case .cancelled:
            metrics.held("cancelled")
        case .notHeld:
            throw GatewayError(code: "event.not_held",
                               message: "Event \(eventId) is not waiting on a countdown (it was delivered, cancelled, or never held).", status: 404)
        case .notYours:
            throw GatewayError(code: "event.not_yours", message: "Only the publisher of event \(eventId) may cancel it.", status: 403)
        }
    }

    // MARK: After delivery: what is owed later

    /// Called once an event has been delivered to its online recipients: schedules the messenger
    /// deliveries its fallback (or, without one, the matching default policies) asks for.
    func delivered(_ event: Event, payload: [UInt8], fallback: DeliveryInstructions.Fallback?) {
        let id = event.id, category = event.category
        let recipients = event.targets.filter { $0 != event.senderId }
        guard !recipients.isEmpty else { return }
        var plans: [(principals: [String], after: Int, via: [String])] = []
        if let fallback {
            plans.append((recipients, fallback.afterSeconds, fallback.via))
        } else {
            for policy in settings.policies where policy.matches(category: category) {
                let who = policy.when == "offline" ? recipients.filter { !isOnline($0) } : recipients
                if !who.isEmpty { plans.append((who, policy.afterSeconds, policy.via)) }
            }
        }
        guard !plans.isEmpty else { return }
        let bytes = payload
        let start = now()
        let rows = plans.flatMap { plan in
            plan.principals.flatMap { principal in plan.via.map { (principal, $0, start + Double(plan.after)) } }
        }
        pool.submit { [store, logger] _ in
            do throws(StoreError) {
                for (principal, alias, due) in rows {
                    try store.schedule(eventId: id, principal: principal, alias: alias, dueAt: due, payload: bytes)
                }
            } catch {
                logger.error("cannot schedule offline deliveries", metadata: ["event": "\(id)", "error": "\(error)"])
            }
        }
    }

    // MARK: Users' own state

    /// A read frame (pipeline, on an event loop): stored on the blocking pool.
    func markRead(_ eventId: Int64, reader: String) {
        pool.submit { [self] _ in try? storeReadMark(eventId: eventId, principal: reader) }
    }

    /// POST /api/v1/read (already on the blocking pool): stored now, errors reported.
    func storeReadMark(eventId: Int64, principal: String) throws(GatewayError) {
        do throws(StoreError) {
            try store.markRead(eventId: eventId, principal: principal, at: now())
        } catch {
            logger.error("cannot store a read mark", metadata: ["error": "\(error)"])
            throw GatewayError(code: "offline.store_failed", message: "The read mark could not be stored; see the gateway log.", status: 500)
        }
    }

    /// Addresses from the token's claims ([offline] address_claims); a user's own setting wins.
    /// Called for every verified token (often on an event loop): the write goes to the pool.
    func rememberClaims(_ identity: Identity) {
        guard !identity.keptClaims.isEmpty else { return }
        pool.submit { [self] _ in storeClaims(identity) }
    }

    /// The same, now (the caller is on the blocking pool: the /me routes, so a user's first
    /// request already sees the addresses its token carries). Claims stored before are skipped.
    func storeClaims(_ identity: Identity) {
        for (alias, claim) in settings.claimByAlias {
            guard let address = identity.keptClaims[claim] else { continue }
            let key = "\(identity.id)\u{0}\(alias)"
            guard claimsStored.withLockedValue({ $0[key] }) != address else { continue }
            do throws(StoreError) {
                try store.setAddress(address, principal: identity.id, alias: alias, source: .claim)
                claimsStored.withLockedValue { stored in
                    if stored.count > 100_000 { stored.removeAll() }  // a bound, not an eviction policy
                    stored[key] = address
                }
            } catch {
                logger.warning("cannot store an address from a claim", metadata: ["error": "\(error)"])
            }
        }
    }

    var userState: OfflineStore { store }

    // MARK: Due work (blocking pool)

    /// Routes every due held event through `route`, then sends every due delivery. Returns how
    /// many rows it handled (the scheduler runs again at once while there is more).
    func runDue(route: (JSON, DeliveryInstructions.Fallback?) -> Void) -> Int {
        var handled = 0
        do throws(StoreError) {
            for held in try store.claimDueHeld(now: now(), limit: 100) {
                handled += 1
                guard let record = try? JSON.parse(String(decoding: held.payload, as: UTF8.self)),
                      let event = record.view["event"].retained() else {
                    logger.error("a held event could not be read back; dropped", metadata: ["event": "\(held.id)"])
                    continue
                }
                metrics.held("routed")
                route(event, DeliveryInstructions.fallback(from: record.view["fallback"]))
            }
            for delivery in try store.claimDueDeliveries(now: now(), limit: 50) {
                handled += 1
                try send(delivery)
            }
        } catch {
            logger.error("offline delivery store failed", metadata: ["error": "\(error)"])
        }
        return handled
    }

    private func send(_ delivery: OfflineStore.Delivery) throws(StoreError) {
        let alias = delivery.alias
        func skip(_ reason: String) throws(StoreError) {
            try store.finish(delivery, state: "skipped", attempts: delivery.attempts, error: reason)
            metrics.count(.skipped, messenger: alias)
        }
        if try store.hasRead(eventId: delivery.eventId, principal: delivery.principal) { return try skip("read") }
        guard let event = try? JSON.parse(String(decoding: delivery.payload, as: UTF8.self)) else {
            return try skip("unreadable payload")
        }
        let category = event.view["category"].string ?? ""
        let optedOut = try store.optOuts(of: delivery.principal)[alias] ?? []
        if optedOut.contains("*") || optedOut.contains(category) { return try skip("opted out") }
        guard let address = try store.addresses(of: delivery.principal)[alias] else { return try skip("no address") }

        let chain = self.chain.current
        // The recipient's filters, as over WebSocket; offline we only know its own principal,
        // so a filter that needs a role fails closed (drops or redacts).
        let recipient = Recipient(id: delivery.principal, principals: [delivery.principal],
                                  host: event.view["host"].string ?? "")
        var outgoing = event
        switch chain.filter(event.view, for: recipient) {
        case .deliver: break
        case .drop: return try skip("filtered")
        case .redacted(let replacement): outgoing = replacement
        }
        let attempt = delivery.attempts + 1
        let outcome = chain.send(alias: alias, event: outgoing.view, recipient: recipient.json.view, address: address,
                                 attempt: attempt, deliveryID: delivery.deliveryID)
        let context: Logger.Metadata = ["event": "\(delivery.eventId)", "recipient": "\(delivery.principal)",
                                        "messenger": "\(alias)", "attempt": "\(attempt)"]
        switch outcome {
        case .sent:
            try store.finish(delivery, state: "sent", attempts: attempt, error: nil)
            metrics.count(.sent, messenger: alias)
        case .refused(let code, let reason):
            try store.finish(delivery, state: "refused", attempts: attempt, error: "\(code): \(reason)")
            metrics.count(.refused, messenger: alias)
            logger.warning("messenger refused a delivery for good", metadata: context.merging(["code": "\(code)", "reason": "\(reason)"]) { $1 })
        case .retryLater(let code, let reason):
            try retryOrDeadLetter(delivery, attempt: attempt, error: "\(code): \(reason)", context: context)
        case .unknownMessenger:
            try retryOrDeadLetter(delivery, attempt: attempt,
                                  error: "messenger.unknown: no messenger '\(alias)' in the running chain", context: context)
        }
    }

    private func retryOrDeadLetter(_ delivery: OfflineStore.Delivery, attempt: Int, error: String,
                                   context: Logger.Metadata) throws(StoreError) {
        if attempt >= settings.maxAttempts {
            try store.finish(delivery, state: "dead", attempts: attempt, error: error)
            metrics.count(.deadLetter, messenger: delivery.alias)
            logger.error("offline delivery dead-lettered after its last attempt",
                         metadata: context.merging(["reason": "\(error)", "max_attempts": "\(settings.maxAttempts)"]) { $1 })
            return
        }
        let delay = min(Double(settings.retryMaxSeconds), Double(settings.retryBaseSeconds) * pow(2, Double(attempt - 1)))
        try store.retry(delivery, attempts: attempt, dueAt: now() + delay, error: error)
        metrics.count(.retried, messenger: delivery.alias)
        logger.notice("offline delivery will be retried", metadata: context.merging(["reason": "\(error)", "in_seconds": "\(Int(delay))"]) { $1 })
    }
}
