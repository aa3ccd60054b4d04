// Admin pages: the only script. After the provider's redirect back (a cross-site navigation, which
// does not carry the SameSite=Strict session cookie), follow the same-origin "Continue" link at once.
(function () {
  var link = document.getElementById('continue');
  if (link && link.getAttribute('data-auto') === '1') window.location.replace(link.getAttribute('href'));
})();
