// Inside the Teams sign-in popup, hand the verification code to Teams, which sends it to the bot
// as `signin/verifyState` from the same user's client (SECURITY.md #9). Outside Teams this does
// nothing and the person types the code shown on the page.
(function () {
  var element = document.getElementById('verification-code');
  var teams = window.microsoftTeams;
  if (!element || !teams || !teams.app || !teams.authentication) return;
  teams.app
    .initialize()
    .then(function () {
      teams.authentication.notifySuccess(element.getAttribute('data-code'));
    })
    .catch(function () {
      /* not running inside Teams */
    });
})();
