/**
 * The engine's one entry: everything a host (bot/, dialogs/, another bot SDK) may use. Deep imports of
 * profiles/* from bot/ and dialogs/ are refused by lint (eslint.config.mjs), and so are `engine.store`,
 * `engine.context`, `engine.tokens` and `engine.catalog`: what a host needs is a method of the engine.
 * Tests may use the internals through their harnesses.
 */

// The engine, and how a host gets one.
export {
  openEngine,
  /** The same as `openEngine`: the name the library entry is documented under. */
  openEngine as createEngine,
  type EngineOptions,
  type OpenedEngine,
  type StoreLocation,
} from './openEngine';
export { AuthorizationEngine, type CallbackOutcome, type StoredProfileDocument } from './engine';
export type { EngineLogger } from './engineContext';
export {
  AUTHORIZATION_REQUEST_ID,
  type CreatedAuthorizationRequest,
  type NewAuthorizationRequest,
} from './authorizationRequests';
export type { CallbackInput } from './callback';

// Sign-in: one vocabulary (docs/signin-states.md).
export {
  isOpen,
  type CallbackOutcomeKind,
  type SigninOutcome,
  type SigninRequest,
  type SigninState,
} from './signinStates';
export type { VerificationResult, ConnectionSummary } from './connections';
export type { TokenResult, TokenUnavailableReason } from './tokens';
export { MAX_ADDITIONAL_SCOPES } from './scopesOnDemand';
export type { RevocationOutcome } from './revocation';
export type { ConnectionCheck } from './connectionCheck';

// Who may use a profile (access policy).
export type { AccessDecision, AccessPolicy, Requester } from './accessPolicy';

// Subjects, profiles and their documents.
export { ORGANIZATION, subjectFromKey, subjectKey, type Subject } from './subjects';
export { isExternalSubjectKey } from './externalConsents';
export { CONNECTION_NAME, DEFAULT_CONNECTION, parseConnectionName } from './connectionNames';
export type { Profile } from './profileCatalog';
export { bundledProfiles, parseProfileFile } from './profileCatalog';
export {
  invalidProfile,
  isProfileId,
  PROFILE_ID,
  profileSchema,
  systemOverrideSchema,
  zodIssues,
  type UrlField,
} from './profileSchema';
export type { Actor, AdminRole, DeleteResult, PublicProfile, SaveResult } from './profileAdmin';
export { publicProfile } from './profileAdmin';

// Records as hosts see them (never a token, a sealed secret or a hash).
export { CONNECTION_STATUSES } from './store/types';
export type {
  AuditEntry,
  AuditQuery,
  ConnectionAccount,
  ConnectionFilter,
  ConnectionStatus,
  DocumentRepository,
  StoredDocument,
} from './store/types';

// Errors: one catalogue with stable codes, and one of what people are told about them.
export {
  accessRefusedMessage,
  additionalScopesMessage,
  AUTHORIZATION_NOTICES,
  organisationBrokenAdminMessage,
  organisationRepairedAdminMessage,
  privateSigninNote,
  privateSigninUnavailable,
  signinFailedMessage,
  signinOutcomeMessage,
  signinPageAdvice,
  signinPageSentence,
  signinPageTitle,
  tokenUnavailableMessage,
  UNEXPECTED_FAILURE_PAGE,
  verificationMessage,
  type SigninFailureCode,
} from './userMessages';
export { AuthProfilesError, isAuthProfilesError, type ErrorCode, type FieldIssue } from './errors';

// Admin keys, key rotation and the settings the host reads from its environment.
export { devAdminKey, type AdminKeys, type AdminPrincipal, type ConfiguredKey } from './adminKeys';
export { TooManyAttemptsError } from './attemptThrottle';
export { describeUnreadable, type UnreadableSecret } from './encryption';
export { DEV_KEY_FILE } from './encryptionKeys';
export type { KeyHolder, KeyHolderHeartbeat } from './keyHolders';
export type { RotationReport } from './keyRotation';
export { keyWeakness } from './keyStrength';
export { OutboundAllowListError, parseOutboundAllowList, type OutboundAllowList } from './outboundAddress';
export { withPath, type CheckedUrl, type OutboundFetch, type OutboundResponse } from './outboundRequests';
export type { StoreHealth, StoreHealthCheck } from './storeHealth';

// The one retry policy for outbound calls (what may be sent again, and when).
export {
  DEFAULT_HTTP_POLICY,
  failureOfFetchError,
  failureOfStatus,
  repeatDelay,
  retryAfterMs,
  type CallFailure,
  type HttpPolicy,
  type OutboundCall,
} from './retryPolicy';

// Small building blocks hosts share with the engine.
export { newId, randomToken, safeEqual, sha256 } from './ids';
export {
  actionKey,
  isActionEnabled,
  ACTION_METHODS,
  FIELD_FORMATS,
  type ActionDeclaration,
  type ActionSettings,
  type CurrentUserDeclaration,
  type FieldFormat,
  type ParamDeclaration,
} from './actions/actionSchema';
export type { ActionView, RunActionOptions } from './actions/actionRunner';
export type { ActionSwitchResult, AdminActionView } from './actions/actionSwitches';
export type {
  ActionErrorCode,
  ActionField,
  ActionFailure,
  ActionItem,
  ActionOutcome,
  ActionValue,
} from './actions/actionResults';
export { checkActionParams, type ParamCheck } from './actions/actionParams';
export {
  ApiRequestError,
  authorizedRequest,
  type ApiRequestErrorCode,
  type ApiTokenSource,
  type AuthorizedRequest,
  type AuthorizedResponse,
} from './actions/authorizedRequest';
export { REDACTED, redactToken, redactTokenBytes } from './actions/tokenRedaction';
