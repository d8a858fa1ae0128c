// bookbuild serve: reload this page when the book is rebuilt, keeping the reader's place.
(function () {
  var meta = document.querySelector('meta[name="bookbuild-version"]');
  var version = meta ? meta.getAttribute("content") : "0";
  var key = "bookbuild-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) { window.scrollTo(0, parseInt(saved, 10)); sessionStorage.removeItem(key); }
  var events = new EventSource("/_events");
  // The server sends "TEXT.PRINT": a text page follows the text's version, a print page
  // (version "pN") the print pages'.
  events.onmessage = function (event) {
    var versions = event.data.split(".");
    var current = version.charAt(0) === "p" ? "p" + versions[1] : versions[0];
    if (current !== version) {
      sessionStorage.setItem(key, String(window.scrollY));
      events.close();
      location.reload();
    }
  };
})();
