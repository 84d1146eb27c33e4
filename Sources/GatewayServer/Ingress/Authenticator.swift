import Foundation
import GatewayAuth
import GatewayCore
import NIOHTTP1

/// Token → identity, with the error a client sees when it has none or a bad one. Verified
/// tokens are cached until they expire.
struct Authenticator: Sendable {
    let verifier: TokenVerifier
    let cache: VerifiedTokenCache
    /// Told of every token verified (not of cache hits): offline delivery remembers the
    /// messenger addresses in its claims.
    var onVerified: @Sendable (Identity) -> Void = { _ in }

    func identify(token: String?) -> Result<Identity, GatewayError> {
        guard let token, !token.isEmpty else {
            return .failure(.unauthorized("auth.missing_token",
                                          "No token: send 'Authorization: Bearer <jwt>', the 'accessToken, <jwt>' subprotocol, or ?token=<jwt>."))
        }
        let now = Int(Date().timeIntervalSince1970)
        if let known = cache.identity(for: token, now: now) { return .success(known) }
        switch verifier.verify(token, now: now) {
        case .success(let identity):
            cache.remember(token, as: identity)
            onVerified(identity)
            return .success(identity)
        case .failure(let error): return .failure(.unauthorized(error.code, error.message))
        }
    }

    /// The token of a request: Authorization header, the accessToken subprotocol, or ?token=.
    func identify(head: HTTPRequestHead, query: [String: String]) -> Result<Identity, GatewayError> {
        identify(token: RequestCredentials(head: head, query: query).token)
    }
}
