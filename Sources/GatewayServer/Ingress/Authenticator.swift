import Foundation
import GatewayAuth
import GatewayCore
import NIOCore
import NIOHTTP1

/// Token → identity, with the error a client sees when it has none or a bad one. Verified
/// tokens are cached until they expire.
///
/// With `[auth] context_url`, an identity's principals are the token's and those the site's
/// context service gives for the token (`ContextPrincipals`). That answer is asked for off the
/// event loops, so it is resolved ahead: `identify(token:on:)` (the WebSocket upgrade, and the
/// HTTP API before it hands a request to a route) asks for it; the synchronous `identify` the
/// routes call then finds it kept.
struct Authenticator: Sendable {
    let verifier: TokenVerifier
    let cache: VerifiedTokenCache
    /// The site's context service (`[auth] context_url`); nil: principals come from the token only.
    var context: ContextPrincipals? = nil
    /// Told of every token verified (not of cache hits): offline delivery remembers the
    /// messenger addresses in its claims.
    var onVerified: @Sendable (Identity) -> Void = { _ in }

    /// The identity of `token` with its context principals when a context service is set; when
    /// the service's answer for this token is not kept (yet): 503 `auth.context_unavailable`.
    func identify(token: String?) -> Result<Identity, GatewayError> {
        verify(token: token).flatMap { identity in
            guard let context else { return .success(identity) }
            guard let kept = context.cached(token: token ?? "", now: Self.now()) else {
                return .failure(ContextFailure.unavailable("no answer for this token yet"))
            }
            return .success(Self.merge(identity, kept))
        }
    }

    /// `identify(token:)`, asking the context service (off the event loop) when its answer for
    /// this token is not kept; completed on `eventLoop`.
    func identify(token: String?, on eventLoop: EventLoop) -> EventLoopFuture<Result<Identity, GatewayError>> {
        let verified = verify(token: token)
        guard let context, case .success(let identity) = verified, let token else {
            return eventLoop.makeSucceededFuture(verified)
        }
        return context.resolve(token: token, expiresAt: identity.expiresAt, now: Self.now(), on: eventLoop)
            .map { answer in answer.map { Self.merge(identity, $0) } }
    }

    /// The token's own identity (signature, claims, expiry), without the context service: for
    /// the requests that use only the caller's id (attachment uploads).
    func verify(token: String?) -> Result<Identity, GatewayError> {
        guard let token, !token.isEmpty else {
            return .failure(.unauthorized("auth.missing_token",
                                          "No token: send 'Authorization: Bearer <jwt>', the 'accessToken, <jwt>' subprotocol, or ?token=<jwt>."))
        }
        let now = Self.now()
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

    /// The token's principals, then the context service's (duplicates dropped); the token's
    /// title, else the service's.
    static func merge(_ identity: Identity, _ context: SiteContext) -> Identity {
        var seen = Set(identity.principals)
        let added = context.principals.filter { seen.insert($0).inserted }
        return Identity(id: identity.id, principals: identity.principals + added, title: identity.title ?? context.title,
                        canPublish: identity.canPublish, expiresAt: identity.expiresAt, keptClaims: identity.keptClaims,
                        isAdmin: identity.isAdmin, hosts: identity.hosts)
    }

    private static func now() -> Int { Int(Date().timeIntervalSince1970) }
}
