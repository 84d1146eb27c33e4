import GatewayAuth
import NIOConcurrencyHelpers

/// Remembers tokens that verified, until they expire, so a publisher that sends thousands of
/// events with one token pays for the signature check (≈10 µs for HS256, 30–90 µs for RS256 /
/// ES256) once, not on every request. A hit still checks `exp` against the clock.
final class VerifiedTokenCache: Sendable {
    private let entries = NIOLockedValueBox<[String: Identity]>([:])
    private let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    func identity(for token: String, now: Int) -> Identity? {
        entries.withLockedValue { cache in
            guard let identity = cache[token] else { return nil }
            if let expiry = identity.expiresAt, expiry <= now {
                cache.removeValue(forKey: token)
                return nil
            }
            return identity
        }
    }

    /// Forgets every token (after a key reload: a removed key must stop verifying at once).
    func removeAll() {
        entries.withLockedValue { $0.removeAll() }
    }

    func remember(_ token: String, as identity: Identity) {
        // Tokens without an expiry are not cached: nothing would ever evict them by time.
        guard identity.expiresAt != nil else { return }
        entries.withLockedValue { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[token] = identity
        }
    }
}
