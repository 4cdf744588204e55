import Delivery
import Foundation
import HTTPServer

/// Generic JSON gateway imitation with `Idempotency-Key` semantics (draft-ietf-httpapi-idempotency-key-header),
/// or, with ``StubConfiguration/genericDeduplicates`` off, a provider that requires the key but ignores it.
extension StubCore {
    func handleGeneric(_ request: HTTPServerRequest) async -> HTTPServerResponse {
        guard configuration.genericPaths.contains(request.path) else { return .notFound }
        guard request.method == "POST" else { return problem(405, "method not allowed") }
        countReceived()
        if let token = configuration.credentials.bearerToken, request.header("authorization") != "Bearer " + token {
            reject("http:401")
            return problem(401, "missing or invalid bearer token")
        }
        guard var key = request.header("idempotency-key"), !key.isEmpty else {
            reject("http:400")
            return problem(400, "Idempotency-Key header is required")
        }
        if key.count >= 2, key.hasPrefix("\""), key.hasSuffix("\"") { key = String(key.dropFirst().dropLast()) }
        guard configuration.genericDeduplicates else {
            // A provider that ignores the key: every request is a new send.
            let plan = drawPlan()
            let (response, providerID) = await genericProcess(request, key: key, plan: plan)
            return await answer(response, plan: plan, accepted: providerID != nil)
        }
        let digest = (try? Digest.sha256(request.body)) ?? request.body
        enum Admission {
            case fresh
            case replay(HTTPServerResponse)
            case inFlight, mismatch
        }
        let admission = state.withLock { state -> Admission in
            guard let entry = state.idempotency[key] else {
                state.idempotency[key] = IdempotencyEntry(bodyDigest: digest, providerID: nil)
                return .fresh
            }
            if entry.bodyDigest != digest { return .mismatch }
            guard let id = entry.providerID else { return .inFlight }
            state.stats.deduplicated += 1
            return .replay(Self.genericAccepted(id))
        }
        switch admission {
        case .replay(let response): return response
        case .inFlight:
            reject("http:409")
            return problem(409, "a request with this Idempotency-Key is in flight")
        case .mismatch:
            reject("http:422")
            return problem(422, "Idempotency-Key reused with a different body")
        case .fresh: break
        }

        let plan = drawPlan()
        let (response, providerID) = await genericProcess(request, key: key, plan: plan)
        let final = await answer(response, plan: plan, accepted: providerID != nil)
        state.withLock { state in
            // Only an accepted send is replayed; after a refusal the same key may try again.
            if let providerID {
                state.idempotency[key]?.providerID = providerID
            } else {
                state.idempotency[key] = nil
            }
        }
        return final
    }

    private func genericProcess(
        _ request: HTTPServerRequest, key: String, plan: RequestPlan
    ) async -> (HTTPServerResponse, providerID: String?) {
        switch plan.fault {
        case .none: break
        case .reset:
            reject("reset")
            return (.resetConnection, nil)
        case .rateLimited:
            reject("429")
            var response = problem(429, "too many requests")
            response.headers.append(("Retry-After", retryAfterValue()))
            return (response, nil)
        case .error(let code, let message):
            reject(code)
            if code.hasPrefix("http:"), let status = Int(code.dropFirst(5)) {
                var response = problem(status, message ?? "scripted failure")
                if status == 503 { response.headers.append(("Retry-After", retryAfterValue())) }
                return (response, nil)
            }
            let body = StubJSON.object([("code", .string(code)), ("message", .string(message ?? code))])
            return (.json(body.rendered, status: 400), nil)
        }
        guard let body = StubJSON.object(request.body) else {
            reject("http:400")
            return (problem(400, "body must be a JSON object"), nil)
        }
        let raw = ["to", "recipient", "phone", "mobile"].lazy.compactMap { body[$0] as? String }.first ?? ""
        let recipient = normalisedMobile(raw) ?? raw
        let id = state.withLock { state -> String in
            state.sequence += 1
            return "g\(state.sequence)-" + String(state.random.next() % 1_000_000_000, radix: 36)
        }
        accept(ourID: key, providerIDs: [id], recipients: [recipient], forceDelivered: plan.lateness == .slow)
        return (Self.genericAccepted(id), id)
    }

    /// The success answer, rebuilt for replays so that only the id is kept per key.
    static func genericAccepted(_ id: String) -> HTTPServerResponse {
        .json(StubJSON.object([("code", .string("OK")), ("id", .string(id))]).rendered)
    }

    private func problem(_ status: Int, _ detail: String) -> HTTPServerResponse {
        let body = StubJSON.object([
            ("type", .string("about:blank")), ("title", .string(detail)), ("status", .int(status)),
        ])
        return HTTPServerResponse(
            status: status, headers: [("Content-Type", "application/problem+json")], body: Array(body.rendered.utf8))
    }
}
