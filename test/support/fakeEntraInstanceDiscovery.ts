// FAKE Microsoft Entra instance discovery, preloaded (`node --import`) into the Agents SDK agent's
// process by agentsSdkProcess.ts when the agent signs in at ./fakeEntra. Before it trusts an authority
// host it does not know, MSAL asks login.microsoftonline.com whether the host is an Entra cloud
// (msal-common Authority.getCloudDiscoveryMetadataFromNetwork); the Agents SDK gives MSAL no
// `knownAuthorities` to skip that question (auth/msal/msalTokenProvider.js getClientSecretClient), and
// login.microsoftonline.com cannot be reached here. This answers that one question, for the fake
// Entra's host only (FAKE_ENTRA_HOST); every other request goes out unchanged.
const fakeHost = process.env.FAKE_ENTRA_HOST;
const DISCOVERY = 'https://login.microsoftonline.com/common/discovery/instance';
const realFetch = globalThis.fetch;

globalThis.fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (fakeHost && url.startsWith(DISCOVERY)) {
    const authority = new URL(url).searchParams.get('authorization_endpoint') ?? '';
    if (new URL(authority).host === fakeHost) {
      const tenant = new URL(authority).pathname.split('/')[1];
      return Response.json({
        tenant_discovery_endpoint: `https://${fakeHost}/${tenant}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: fakeHost, preferred_cache: fakeHost, aliases: [fakeHost] }],
      });
    }
  }
  return realFetch(input, init);
};

export {};
