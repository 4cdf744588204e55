import Foundation
import Kit

/// Many messages through one gateway in one visit to the actor.
///
/// ``GatewayDispatcher/send(_:recipientKeys:admit:)`` costs each message a hop onto the actor,
/// one back for its `admit` and one for its answer. A caller holding a batch instead
/// ``reserve(_:)``s it (slot, token, breaker permit, recipient windows and daily cap for every
/// message the gateway takes now, by the same checks in the same order), commits what it must
/// before the requests leave, sends each with ``transmit(_:)``, and hands every answer back at
/// once with ``settle(_:)``. The limits hold as they do for `send`: a slot and a token are
/// taken per message, the breaker's probes are counted per message, and a reservation is held
/// until it is settled.
extension GatewayDispatcher {
    /// A message the gateway has taken: it holds an in-flight slot, a spent token, the breaker's
    /// permit, its recipient windows and a place in the daily cap until ``GatewayDispatcher/settle(_:)``.
    public struct Ticket: Sendable {
        let permit: CircuitBreaker.Permit?
        let wallNow: Date
        let recipientKeys: [String]
        /// Time from the ``GatewayDispatcher/reserve(_:)`` call until the gateway took it.
        public let waited: Duration
        /// Whether it had to wait for an in-flight slot or a token.
        public let throttled: Bool
    }

    /// What became of one message of a ``GatewayDispatcher/reserve(_:)`` call.
    public enum Reservation: Sendable {
        /// Taken: send it (or withdraw it), then settle the ticket.
        case taken(Ticket)
        /// Refused as ``GatewayDispatcher/send(_:recipientKeys:admit:)`` refuses (paused, circuit
        /// open, recipient window full, cancelled): not an attempt.
        case refused(DispatchResult)
        /// Not reached: no slot or token was free without waiting. Reserve it again.
        case later
    }

    /// What the caller did with a ticket.
    public enum Settlement: Sendable {
        /// Not sent, as ``Admission/withdraw(_:)`` (a `.pauseGateway` outcome pauses the gateway).
        case withdrawn(DeliveryOutcome)
        /// Sent; the sender's outcome.
        case sent(DeliveryOutcome)
    }

    /// Takes, in order, each message the gateway takes without waiting (given by its recipient
    /// keys, ``RecipientLimits/key(scope:_:)``); one answer per message.
    ///
    /// Messages the gateway refuses come back refused, as ``send(_:recipientKeys:admit:)``
    /// refuses them. At the first message that would have to wait for a slot or a token, it
    /// stops (that one and the rest are ``Reservation/later``), unless it has taken nothing yet:
    /// then it waits for that one, as `send` waits, so every call makes progress.
    public func reserve(_ recipientKeys: [[String]]) async -> [Reservation] {
        let started = clock.elapsed()
        var reservations: [Reservation] = []
        reservations.reserveCapacity(recipientKeys.count)
        var took = false
        for keys in recipientKeys {
            if let refusal = refusal(recipientKeys: keys) {
                reservations.append(
                    .refused(DispatchResult(outcome: refusal, attempted: false, throttled: false, waited: .zero)))
                continue
            }
            if let ticket = takeAtOnce(keys, started: started) {
                reservations.append(.taken(ticket))
                took = true
            } else if took {
                reservations.append(.later)
            } else {
                let waited = await takeWaiting(keys, started: started)
                if case .taken = waited { took = true }
                reservations.append(waited)
            }
        }
        publish()
        return reservations
    }

    /// Sends one message of a reservation through the gateway's sender, off the actor: the
    /// caller sends a batch's messages side by side and settles their tickets together.
    public nonisolated func transmit(_ message: OutboundMessage) async -> DeliveryOutcome {
        await sender.send(message)
    }

    /// Returns each ticket's slot, records its answer in the breaker and the recipient windows
    /// (a withdrawn ticket also gives back its daily cap), and pauses the gateway on a pause
    /// outcome, as ``send(_:recipientKeys:admit:)`` does after its own send; one result each.
    public func settle(_ settled: [(Ticket, Settlement)]) -> [DispatchResult] {
        let results = settled.map { ticket, settlement in
            slots.release()
            sending -= 1
            let outcome: DeliveryOutcome
            let attempted: Bool
            switch settlement {
            case .withdrawn(let withdrawn):
                outcome = withdrawn
                attempted = false
                if let permit = ticket.permit { breaker.record(.neutral, for: permit, now: clock.elapsed()) }
                for key in ticket.recipientKeys { recipients.forget(key: key, at: ticket.wallNow) }
                dailyCap?.release(now: ticket.wallNow)
                sent -= 1
            case .sent(let answer):
                outcome = answer
                attempted = true
                if let permit = ticket.permit {
                    breaker.record(CircuitBreaker.verdict(for: answer), for: permit, now: clock.elapsed())
                }
                switch answer {
                case .accepted, .ambiguous:
                    break
                default:
                    for key in ticket.recipientKeys { recipients.forget(key: key, at: ticket.wallNow) }
                }
            }
            if case .pauseGateway(let reason, let kind, let until) = outcome {
                pause(reason: reason, kind: kind, until: until)
            }
            return DispatchResult(
                outcome: outcome, attempted: attempted, throttled: ticket.throttled, waited: ticket.waited)
        }
        publish()
        return results
    }

    // MARK: - Internals

    /// Takes a slot and a token if both are free now (and nobody waits for either).
    private func takeAtOnce(_ keys: [String], started: Duration) -> Ticket? {
        guard slots.tryAcquire() else { return nil }
        guard tokenQueue.tryAcquire() else {
            slots.release()
            return nil
        }
        defer { tokenQueue.release() }
        guard bucket.reserve(now: clock.elapsed()) == nil else {
            slots.release()
            return nil
        }
        return book(keys, started: started, throttled: false)
    }

    /// Waits for a slot and a token as ``send(_:recipientKeys:admit:)`` does, checking the
    /// refusals again after every wait.
    private func takeWaiting(_ keys: [String], started: Duration) async -> Reservation {
        var waitedForSlot = false
        if !slots.tryAcquire() {
            waitedForSlot = true
            do { try await slots.acquire() } catch { return .refused(cancelledResult(started: started)) }
        }
        var waitedForToken = false
        do { try await tokenQueue.acquire() } catch {
            slots.release()
            return .refused(cancelledResult(started: started))
        }
        defer { tokenQueue.release() }
        while true {
            if let refusal = refusal(recipientKeys: keys) {
                slots.release()
                let waited = clock.elapsed() - started
                if waitedForSlot || waitedForToken {
                    throttled += 1
                    throttleWaitTotal += waited
                }
                return .refused(
                    DispatchResult(
                        outcome: refusal, attempted: false, throttled: waitedForSlot || waitedForToken, waited: waited))
            }
            let now = clock.elapsed()
            guard let wait = bucket.reserve(now: now) else { break }
            waitedForToken = true
            do { try await clock.sleep(now + wait) } catch {
                slots.release()
                return .refused(cancelledResult(started: started))
            }
        }
        return .taken(book(keys, started: started, throttled: waitedForSlot || waitedForToken))
    }

    /// The bookkeeping of a message taken (its slot and token already are), as in `send`.
    private func book(_ keys: [String], started: Duration, throttled waitedFor: Bool) -> Ticket {
        let wallNow = wallClock()
        _ = dailyCap?.reserve(now: wallNow)
        let permit = breaker.acquire(now: clock.elapsed())
        for key in keys { recipients.record(key: key, now: wallNow) }
        sent += 1
        sending += 1
        let waited = clock.elapsed() - started
        if waitedFor {
            throttled += 1
            throttleWaitTotal += waited
        }
        return Ticket(permit: permit, wallNow: wallNow, recipientKeys: keys, waited: waited, throttled: waitedFor)
    }
}
