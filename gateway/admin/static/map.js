// The console's map: draws the provinces outline, the sites and the markers that the page's
// JSON endpoint returns (data-source), with Leaflet and no tile layer, so nothing is fetched
// from outside the console. The table under the map holds the same data without JavaScript.
(function () {
  "use strict";

  var COLOURS = { incident: "#b3261e", cases: "#2f6fb3", signal: "#9a5b00" };

  function radius(count) {
    return 6 + 4 * Math.sqrt(Math.max(count, 1) - 1);
  }

  function text(tag, content) {
    var node = document.createElement(tag);
    node.textContent = content;
    return node;
  }

  function popup(marker) {
    var box = document.createElement("div");
    box.className = "map-popup";
    var title = text("h3", "");
    if (marker.href) {
      var link = text("a", marker.title);
      link.href = marker.href;
      title.appendChild(link);
    } else {
      title.textContent = marker.title;
    }
    box.appendChild(title);
    box.appendChild(text("p", marker.category_label + " · " + marker.place.name));
    box.appendChild(text("p", marker.count + (marker.count === 1 ? " report" : " reports")));
    if (marker.numbers.length) {
      box.appendChild(text("p", marker.numbers.join(", ")));
    }
    return box;
  }

  function outlineStyle(feature) {
    var props = feature.properties || {};
    if (props.kind === "country") {
      return { color: "#1d2327", weight: 2, fill: false, interactive: false };
    }
    var demo = Boolean(props.code);
    return {
      color: "#5f6b73",
      weight: 1,
      fillColor: demo ? "#ffffff" : "#eef1f3",
      fillOpacity: demo ? 0.9 : 0.6,
    };
  }

  function drawOutline(map, outline) {
    var layer = L.geoJSON(outline, {
      style: outlineStyle,
      onEachFeature: function (feature, shape) {
        if (feature.properties && feature.properties.kind === "province") {
          shape.bindTooltip(feature.properties.name, { sticky: true });
        }
      },
    }).addTo(map);
    // Open on the provinces the places come from, not on the whole of the DRC.
    var known = L.latLngBounds([]);
    layer.eachLayer(function (shape) {
      var props = shape.feature.properties || {};
      if (props.kind === "province" && props.code) {
        known.extend(shape.getBounds());
      }
    });
    map.fitBounds(known.isValid() ? known : layer.getBounds(), { padding: [8, 8] });
  }

  function drawSites(map, sites) {
    sites.forEach(function (site) {
      L.circleMarker([site.lat, site.lon], {
        radius: 2.5, color: "#1d2327", weight: 1, fillOpacity: 1, className: "map-site",
      }).bindTooltip(site.name).addTo(map);
    });
  }

  function drawMarkers(map, markers) {
    markers.forEach(function (marker) {
      if (!marker.place) {
        return;
      }
      var signal = marker.kind === "signal";
      L.circleMarker([marker.place.lat, marker.place.lon], {
        radius: radius(marker.count) + (signal ? 6 : 0),
        color: signal ? COLOURS.signal : "#ffffff",
        weight: signal ? 3 : 1.5,
        dashArray: signal ? "4 3" : null,
        fillColor: COLOURS[marker.kind],
        fillOpacity: signal ? 0 : (marker.open ? 0.8 : 0.35),
        className: "map-marker map-" + marker.kind,
      }).bindPopup(popup(marker)).addTo(map);
    });
  }

  function fail(element, message) {
    var status = element.parentNode.querySelector(".map-status");
    if (status) {
      status.textContent = message;
      status.hidden = false;
    }
  }

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      });
  }

  function start(element) {
    if (typeof L === "undefined") {
      return;
    }
    var map = L.map(element, { attributionControl: false, zoomSnap: 0.25, minZoom: 3, maxZoom: 12 });
    map.setView([-3, 26], 5);
    Promise.all([fetchJson(element.dataset.outline), fetchJson(element.dataset.source)])
      .then(function (results) {
        drawOutline(map, results[0]);
        drawSites(map, results[1].sites);
        drawMarkers(map, results[1].markers);
        element.dataset.ready = String(results[1].markers.length);
      })
      .catch(function () {
        fail(element, "The map could not be drawn; the table below holds the same data.");
      });
  }

  document.querySelectorAll(".map[data-source]").forEach(start);
})();
