import type { Agent } from 'node:http';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { AuthProfilesError } from '../errors';
import { safeEqual, sha256 } from '../ids';
import type { ConnectionAccount } from '../store/types';
import { cleanProviderText } from './providerText';

/**
 * OpenID Connect ID token validation (OpenID Connect Core §3.1.3.7, SECURITY.md #50) with jose: the
 * signature against the issuer's published keys, `iss`, `aud` (and `azp`), `exp`, and the `nonce`
 * of this very sign-in, which defeats a token replayed from another one. What it yields, who
 * signed in, is kept on the connection; the token itself is not kept.
 */

export interface IdTokenExpectations {
  /** The profile's `issuer`: the ID token's `iss` must be exactly this. */
  issuer: string;
  /** The client id: must be (one of) the `aud`, and the `azp` when there is one. */
  clientId: string;
  /** Rendered and address-checked `jwksUrl` of the profile. */
  jwksUrl: string;
  /** The outbound agent for it, whose lookup refuses internal addresses in production (SECURITY.md #42). */
  agent: Agent;
  /** sha256 of the nonce sent with this sign-in; null when none was sent. */
  nonceHash: string | null;
  /** Engine clock, epoch ms. */
  now: number;
  timeoutMs: number;
}

// Public-key algorithms only: the keys come from a public JWKS, and `none` or an HMAC keyed with
// something public must never pass.
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Tolerated clock difference with the issuer, in seconds. */
const CLOCK_TOLERANCE_S = 60;
/** Key sets kept (jose caches the keys inside each and refetches on an unknown `kid`). */
const KEY_SETS_KEPT = 50;

// Per agent: each engine's outbound rule keeps its own key sets, in an LRU (the project's one cache).
const keySetsByAgent = new WeakMap<Agent, LRUCache<string, ReturnType<typeof createRemoteJWKSet>>>();

function keySetFor(jwksUrl: string, timeoutMs: number, agent: Agent): ReturnType<typeof createRemoteJWKSet> {
  let keySets = keySetsByAgent.get(agent);
  if (!keySets) {
    keySets = new LRUCache({ max: KEY_SETS_KEPT });
    keySetsByAgent.set(agent, keySets);
  }
  let keySet = keySets.get(jwksUrl);
  if (!keySet) {
    keySet = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: timeoutMs, agent });
    keySets.set(jwksUrl, keySet);
  }
  return keySet;
}

/** Verifies an ID token and returns the account it names; throws `id-token-invalid` saying which check failed. */
export async function verifyIdToken(
  idToken: string,
  expected: IdTokenExpectations,
): Promise<ConnectionAccount> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySetFor(expected.jwksUrl, expected.timeoutMs, expected.agent), {
      issuer: expected.issuer,
      audience: expected.clientId,
      algorithms: ALGORITHMS,
      requiredClaims: ['sub', 'exp', 'iat'],
      currentDate: new Date(expected.now),
      clockTolerance: CLOCK_TOLERANCE_S,
    }));
  } catch (error) {
    throw refused(reasonOf(error));
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (payload.azp !== undefined ? payload.azp !== expected.clientId : audiences.length > 1) {
    throw refused('it was issued to another client (azp)');
  }
  if (expected.nonceHash !== null) {
    const nonce = payload.nonce;
    if (typeof nonce !== 'string' || !safeEqual(sha256(nonce), expected.nonceHash)) {
      throw refused('its nonce is not the one this sign-in sent (a token from another sign-in)');
    }
  }
  const sub = cleanProviderText(payload.sub, 255);
  if (sub === null) throw refused('it lacks the "sub" claim');
  return {
    sub,
    email: cleanProviderText(payload.email, 320),
    name: cleanProviderText(payload.name, 200),
  };
}

function refused(reason: string): AuthProfilesError {
  return new AuthProfilesError('id-token-invalid', `the ID token was refused: ${reason}`);
}

/** What failed, in words; never the token or its claims' values. */
function reasonOf(error: unknown): string {
  const { code, claim } = (error ?? {}) as { code?: unknown; claim?: unknown };
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return "its signature does not match the issuer's keys";
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'it is signed with a key the issuer does not publish';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'it is signed with an algorithm that is not allowed';
    case 'ERR_JWT_EXPIRED':
      return 'it has expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return "it was issued by another issuer than the profile's";
      if (claim === 'aud') return 'it was issued for another client';
      if (claim === 'iat' || claim === 'nbf') return 'it is not valid yet';
      return `its "${typeof claim === 'string' ? claim.replace(/[^a-z_]/gi, '') : 'unspecified'}" claim is missing or invalid`;
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'it is not a well-formed signed JWT';
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
    case 'ERR_JOSE_GENERIC':
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
      return "the issuer's signing keys (jwksUrl) could not be fetched";
    default:
      return "it could not be checked against the issuer's signing keys";
  }
}
